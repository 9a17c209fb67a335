#!/usr/bin/env bash
# Creates Homeward's topics; safe to run again. Agencies by code in lower case.
#   KAFKA_BOOTSTRAP=kafka:9092 AGENCIES="xa-nrm xb-nrm" HOMEWARD_KAFKA_REPLICATION=3 infra/topics.sh
# Add --command-config client.properties via KAFKA_TOPICS_OPTS for a SASL/TLS cluster.
set -euo pipefail

bootstrap=${KAFKA_BOOTSTRAP:-localhost:9092}
kafka_topics=${KAFKA_TOPICS:-/opt/kafka/bin/kafka-topics.sh}
agencies=${AGENCIES:-xa-nrm xb-nrm}
# The case id is the key: partitions spread cases, never one case's messages.
partitions=${PARTITIONS:-3}
# Three copies of each message survive a broker loss; the one-broker compose sets 1.
replication=${HOMEWARD_KAFKA_REPLICATION:-${REPLICATION_FACTOR:-3}}
read -r -a extra <<<"${KAFKA_TOPICS_OPTS:-}"

create() {
    "$kafka_topics" --bootstrap-server "$bootstrap" "${extra[@]}" --create --if-not-exists \
        --topic "$1" --partitions "$partitions" --replication-factor "$replication"
}

for agency in $agencies; do
    create "homeward.inbox.$agency"
    create "homeward.deadletter.$agency"
done
create homeward.monitoring
"$kafka_topics" --bootstrap-server "$bootstrap" "${extra[@]}" --list
