"""The Celery side of a scaled-out deployment: the only package that imports Celery."""
