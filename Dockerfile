# syntax=docker/dockerfile:1
# Multi-stage build: a static regen binary on a distroless, non-root base.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/regen ./cmd/regen && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/regen /usr/local/bin/regen
COPY --from=build /src/examples/templates /templates
# The embedded server's store: mount a volume here to keep it.
COPY --from=build --chown=65532:65532 /out/data /data
USER nonroot:nonroot
# NATS clients (the embedded server) and metrics/probes.
EXPOSE 4222 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD ["/usr/local/bin/regen", "healthcheck", "-q", "--url", "http://127.0.0.1:8080/readyz"]
ENTRYPOINT ["/usr/local/bin/regen"]
# Without arguments: one replica on its embedded NATS server, reachable from
# outside the container (docker run -p 127.0.0.1:4222:4222 -p 127.0.0.1:8080:8080).
# With a NATS cluster, pass `run --nats-url ...` instead (docker-compose.yml).
CMD ["run", "--listen", "0.0.0.0:4222", "--data-dir", "/data", "--http", "0.0.0.0:8080", "--templates", "/templates", "--deploy", "objectstore:REGEN_ARTIFACTS"]
