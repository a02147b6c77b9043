# syntax=docker/dockerfile:1
# Multi-stage build: a static regen binary on a distroless, non-root base.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/regen ./cmd/regen

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/regen /usr/local/bin/regen
COPY --from=build /src/examples/templates /templates
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/regen"]
CMD ["run", "--templates", "/templates", "--deploy", "objectstore:REGEN_ARTIFACTS"]
