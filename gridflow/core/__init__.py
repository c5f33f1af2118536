"""The pure core: classification, merging, routing, SLA arithmetic and the case state machine.

Nothing in this package imports Faust or Kafka; agents move records between topics and
these functions.
"""
