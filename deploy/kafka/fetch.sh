#!/usr/bin/env bash
# Copies Apache Kafka's jars (deploy/kafka/pom.xml: kafka_2.13, its runtime dependencies,
# a Log4j 2 backend) from Maven Central into the cache gridflow/apache_kafka.py runs them
# from. Idempotent: with the broker jar in place it changes nothing. The copy lands in a
# staging directory and is renamed into place only when complete.
#
#   deploy/kafka/fetch.sh [VERSION]     (default: the pom's kafka.version)
# Environment: GRIDFLOW_KAFKA_HOME (default ~/.cache/gridflow/kafka/VERSION) is the cache;
# the jars go to its lib/.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version="${1:-$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")}"
home="${GRIDFLOW_KAFKA_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/gridflow/kafka/$version}"
lib="$home/lib"
if [ -f "$lib/kafka_2.13-$version.jar" ]; then
    echo "Apache Kafka $version jars present in $lib"
    exit 0
fi
command -v mvn >/dev/null 2>&1 || { echo "mvn not found: install Maven (deploy/install-tools.sh does)" >&2; exit 1; }
mkdir -p "$home"
staging="$(mktemp -d "$home/lib.XXXXXX")"
trap 'rm -rf "$staging"' EXIT
mvn -B -q -Dstyle.color=never -f "$here/pom.xml" "-Dkafka.version=$version" \
    dependency:copy-dependencies -DincludeScope=runtime "-DoutputDirectory=$staging"
rm -rf "$lib"
mv "$staging" "$lib"
trap - EXIT
echo "Apache Kafka $version jars fetched into $lib ($(ls "$lib" | wc -l) jars)"
