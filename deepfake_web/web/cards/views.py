"""The model cards page (``/models``) and the plots of each card."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, send_file

from deepfake_web.detection.cards import CARD_FILES, card_files, model_card

from ..upload.validation import models_folder

bp = Blueprint("cards", __name__, url_prefix="/models")


@bp.get("")
def index():
    """Every installed checkpoint with its card."""
    cards = [model_card(info) for info in models_folder().checkpoints()]
    return render_template("cards/index.html", cards=cards)


@bp.get("/<name>/<kind>/<file>")
def plot(name: str, kind: str, file: str):
    """A plot of a card (only the names the card folder is known to hold)."""
    info = next((i for i in models_folder().checkpoints() if i.name == name), None)
    plots = {n for role, n in CARD_FILES.get(kind, {}).items() if role != "json"}
    if info is None or file not in plots:
        abort(404)
    path = next(p for p in card_files(info.path, kind).values() if p.name == file)
    if not path.is_file():
        abort(404)
    return send_file(path, mimetype="image/png", max_age=300)
