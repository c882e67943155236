"""The history page: every analysis, searchable, filterable, sortable, paginated."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from . import analyses
from .forms import ConfirmForm
from .models import VERDICTS

bp = Blueprint("history", __name__)


@bp.get("/history")
def index():
    """List analyses with the filters and sort order given in the query string."""
    filters = analyses.Filters.from_args(request.args)
    page = request.args.get("page", 1, type=int)
    pagination = analyses.search(filters, page, int(current_app.config["HISTORY_PER_PAGE"]))
    return render_template(
        "history/index.html",
        pagination=pagination,
        filters=filters,
        verdicts=VERDICTS,
        checkpoints=analyses.checkpoint_names(),
        form=ConfirmForm(),
    )
