"""The history page: every analysis, searchable, filterable, sortable, paginated."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from ..forms import ConfirmForm
from ..models import VERDICTS
from .search import Filters, checkpoint_names, search

bp = Blueprint("history", __name__)


@bp.get("/history")
def index():
    """List analyses with the filters and sort order given in the query string."""
    filters = Filters.from_args(request.args)
    page = request.args.get("page", 1, type=int)
    pagination = search(filters, page, int(current_app.config["HISTORY_PER_PAGE"]))
    return render_template(
        "history/index.html",
        pagination=pagination,
        filters=filters,
        verdicts=VERDICTS,
        checkpoints=checkpoint_names(),
        form=ConfirmForm(),
    )
