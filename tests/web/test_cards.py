"""The model cards page: claims next to measurements, plots, warnings; upload links to cards."""

from __future__ import annotations

import json
import re
from pathlib import Path

from deepfake_web.detection.cards import card_dir, card_files
from deepfake_web.detection.checkpoint_info import file_sha256
from deepfake_web.detection.demo import DEMO_WARNING
from deepfake_web.training.report import keep_in_card
from deepfake_web.training.synthetic import WARNING as SYNTHETIC_WARNING


def write_header_only(path: Path, metadata: dict) -> Path:
    """A deepfake-web checkpoint file with metadata and no weights (enough for cards)."""
    import torch

    torch.save(
        {
            "format": "deepfake-web",
            "format_version": 1,
            "architecture": {},
            "state_dict": {},
            "metadata": metadata,
        },
        path,
    )
    return path


def png(path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(1, 1))
    fig.savefig(path)
    plt.close(fig)
    return path


def section(page: str, name: str) -> str:
    """The card of checkpoint ``name`` in the page."""
    card = page[page.index(f'id="card-{name}"') :]
    return card[: card.index("</section>")]


def test_cards_show_measured_auc_plots_and_warnings(app, client, tmp_path: Path) -> None:
    models = Path(app.config["MODELS_DIR"])
    write_header_only(
        models / "demo_random_weights_30_frames.pt",
        {"sequence_length": 30, "demo": True, "warning": DEMO_WARNING, "metrics": {}},
    )
    trained = write_header_only(
        models / "model_96.5_acc_6_frames_synthetic_data.pt",
        {
            "sequence_length": 6,
            "synthetic": True,
            "warning": SYNTHETIC_WARNING,
            "metrics": {"accuracy": 0.965, "auc": 0.9871, "data": "val split of synthetic"},
            "decision": {
                "threshold": 0.4321,
                "uncertain_margin": 0.05,
                "method": "balanced",
                "calibrated_on": "val split of synthetic: 10 scored videos",
            },
            "training_data": "synthetic (12 identities)",
            "created": "2026-11-30T10:00:00+00:00",
        },
    )
    out = tmp_path / "evaluation"
    out.mkdir()
    report = {
        "info": {"data": "test split of synthetic", "created": "2026-11-30T11:00:00+00:00"},
        "summary": {"videos": 10, "threshold_metrics": {"auc": 0.9123, "accuracy": 0.9}},
    }
    (out / "report.json").write_text(json.dumps(report))
    keep_in_card(
        trained,
        "evaluation",
        {
            "json": str(out / "report.json"),
            "roc": str(png(out / "roc.png")),
            "histogram": str(png(out / "scores.png")),
        },
    )
    assert card_files(trained, "evaluation")["roc"].is_file()
    assert card_dir(trained) == models / "model_96.5_acc_6_frames_synthetic_data.card"

    page = client.get("/models").get_data(as_text=True)
    trained_card = section(page, "model_96.5_acc_6_frames_synthetic_data.pt")
    assert "0.912" in trained_card and "test split of synthetic" in trained_card  # evaluate
    assert "0.987" in trained_card  # measured at training
    assert "96.5 %" in trained_card  # the name's claim, shown beside them
    assert "0.432" in trained_card and "10 scored videos" in trained_card
    assert SYNTHETIC_WARNING in trained_card
    assert file_sha256(trained) in trained_card
    plots = re.findall(r'src="(/models/model_96\.5[^"]+\.png)"', trained_card)
    assert sorted(Path(p).name for p in plots) == ["roc.png", "scores.png"]
    res = client.get(plots[0])
    assert res.status_code == 200 and res.mimetype == "image/png"
    assert res.data[:8] == b"\x89PNG\r\n\x1a\n"
    demo_card = section(page, "demo_random_weights_30_frames.pt")
    assert DEMO_WARNING in demo_card and "demo: random weights" in demo_card
    # only the card's plots are served
    base = "/models/model_96.5_acc_6_frames_synthetic_data.pt/evaluation"
    assert client.get(f"{base}/report.json").status_code == 404
    assert client.get("/models/nope.pt/evaluation/roc.png").status_code == 404


def test_upload_page_links_each_length_to_its_card(app, client) -> None:
    models = Path(app.config["MODELS_DIR"])
    write_header_only(
        models / "demo_random_weights_30_frames.pt",
        {"sequence_length": 30, "demo": True, "warning": DEMO_WARNING},
    )
    page = client.get("/").get_data(as_text=True)
    links = dict(re.findall(r'href="/models#card-([^"]+)" data-length="(\d+)"', page))
    assert links == {
        "model_90_acc_20_frames_test_data.pt": "20",
        "demo_random_weights_30_frames.pt": "30",
    }
    cards = client.get("/models").get_data(as_text=True)
    for name in links:
        assert f'id="card-{name}"' in cards
