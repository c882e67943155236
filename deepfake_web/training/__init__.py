"""Training pipeline: index datasets, extract faces and features, train, calibrate, evaluate.

Built on the detection engine (same video reading, face search and preprocessing); imports
neither Flask nor SQLAlchemy.
"""
