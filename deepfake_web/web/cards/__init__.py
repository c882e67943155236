"""The model cards page: every installed checkpoint, what it claims and what was measured."""
