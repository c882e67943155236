"""The history page: an overview, then every analysis, searchable, filterable, sortable."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, current_app, render_template, request, stream_with_context

from ..forms import ConfirmForm
from ..models import VERDICTS
from .dashboard import DAY_CHART, overview
from .export import history_csv
from .search import Filters, checkpoint_names, search

bp = Blueprint("history", __name__)


@bp.get("/history")
def index():
    """The overview and one page of analyses, with the filters given in the query string."""
    filters = Filters.from_args(request.args)
    page = request.args.get("page", 1, type=int)
    pagination = search(filters, page, int(current_app.config["HISTORY_PER_PAGE"]))
    return render_template(
        "history/index.html",
        pagination=pagination,
        filters=filters,
        verdicts=VERDICTS,
        checkpoints=checkpoint_names(),
        dashboard=overview(filters),
        chart=DAY_CHART,
        form=ConfirmForm(),
    )


@bp.get("/history.csv")
def export():
    """Every analysis matching the filters (all pages) as CSV."""
    filters = Filters.from_args(request.args)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return Response(
        stream_with_context(history_csv(filters)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="history-{stamp}.csv"'},
    )
