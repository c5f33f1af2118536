"""The stream runtime: Kafka records in, the pure core applied, records and state out.

No Faust here (``agents/`` holds that): plain aiokafka and plain records, so the path is
testable without Faust and runs without an await per record.

* :mod:`~gridflow.runtime.records`: the records passed between the layers;
* :mod:`~gridflow.runtime.reader`: reads the input topics of the owned partitions;
* :mod:`~gridflow.runtime.checkpoint`: the checkpoint protocol (journal → outputs →
  state → positions; replay), its steps and invariants;
* :mod:`~gridflow.runtime.pipeline`: the processor, a batch in, outputs and state out;
* :mod:`~gridflow.runtime.sender`: produces records in per-partition batches;
* :mod:`~gridflow.runtime.partitioning`: which partition a region lives in;
* :mod:`~gridflow.runtime.heap`: the garbage-collector policy of a worker;
* :mod:`~gridflow.runtime.kpi_publisher`: the per-county KPI windows of a worker;
* :mod:`~gridflow.runtime.rules_timeline`: the rules in force at an instant (hot reload);
* :mod:`~gridflow.runtime.rules_follower`: reads ``grid.rules`` into that timeline;
* :mod:`~gridflow.runtime.consumer_stop`: aiokafka's consumer stop, made to finish.
"""
