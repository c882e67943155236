"""The result page of an analysis: verdict, chart, previews; re-run and delete."""
