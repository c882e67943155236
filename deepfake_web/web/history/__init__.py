"""The history page: every analysis, searchable, filterable, sortable, paginated."""
