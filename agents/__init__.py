"""The Faust layer: app wiring, timers, web pages and the ``cases`` table's internals.

Everything that does not touch Faust lives in :mod:`gridflow.runtime`.
"""
