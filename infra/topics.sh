#!/usr/bin/env bash
# Creates Homeward's topics; safe to run again. Agencies by code in lower case.
#   KAFKA_BOOTSTRAP=kafka:9092 AGENCIES="xa-nrm xb-nrm" HOMEWARD_KAFKA_REPLICATION=3 \
#   HOMEWARD_KAFKA_INBOX_PARTITIONS=3 HOMEWARD_INBOX_RETENTION_DAYS=7 \
#   HOMEWARD_DEADLETTER_RETENTION_DAYS=30 infra/topics.sh
# Add --command-config client.properties via KAFKA_TOPICS_OPTS for a SASL/TLS cluster.
set -euo pipefail

bootstrap=${KAFKA_BOOTSTRAP:-localhost:9092}
kafka_topics=${KAFKA_TOPICS:-/opt/kafka/bin/kafka-topics.sh}
agencies=${AGENCIES:-xa-nrm xb-nrm}
# The case id is the key: partitions spread cases, never one case's messages. An agency
# node's replicas share its inbox's partitions (one consumer group), so the inbox has at
# least as many as the node has replicas; the node reads the same variable.
partitions=${PARTITIONS:-3}
inbox_partitions=${HOMEWARD_KAFKA_INBOX_PARTITIONS:-$partitions}
# Three copies of each message survive a broker loss; the one-broker compose sets 1.
replication=${HOMEWARD_KAFKA_REPLICATION:-${REPLICATION_FACTOR:-3}}
# How long the broker keeps a case's sealed messages: the delay after which its erasure
# reaches the broker (in days, as the nodes read them; a topic that exists keeps its own).
inbox_days=${HOMEWARD_INBOX_RETENTION_DAYS:-7}
deadletter_days=${HOMEWARD_DEADLETTER_RETENTION_DAYS:-30}
read -r -a extra <<<"${KAFKA_TOPICS_OPTS:-}"

create() {
    local config=()
    if [ -n "${3:-}" ]; then config=(--config "retention.ms=$(($3 * 24 * 60 * 60 * 1000))"); fi
    "$kafka_topics" --bootstrap-server "$bootstrap" "${extra[@]}" --create --if-not-exists \
        --topic "$1" --partitions "$2" --replication-factor "$replication" "${config[@]}"
}

for agency in $agencies; do
    create "homeward.inbox.$agency" "$inbox_partitions" "$inbox_days"
    create "homeward.deadletter.$agency" "$partitions" "$deadletter_days"
done
create homeward.monitoring "$partitions"
"$kafka_topics" --bootstrap-server "$bootstrap" "${extra[@]}" --list
