"""The web room: the Flask application (:func:`.app.create_app`) and its blueprints.

One sub-package per blueprint (``upload``, ``results``, ``history``, ``api``) holds its
views and forms; the shared pieces sit beside them: ``config``, ``extensions``,
``database``, ``models``, ``storage``, ``analyses``, ``errors``, ``security``, ``filters``.
Nothing here imports torch (a test reads the imports to check it).
"""
