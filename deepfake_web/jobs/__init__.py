"""The jobs room: the task queue and the analysis worker.

``queue`` is what the web process uses (enqueue, what is waiting); ``worker`` runs one
analysis (claim, progress, heartbeat, result, failure); ``recovery`` finds analyses a dead
worker left behind; ``detectors`` keeps the engine loaded in the worker process. The
worker's command (``deepfake-web worker``) builds the app and binds it to the queue.
"""
