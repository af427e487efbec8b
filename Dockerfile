# syntax=docker/dockerfile:1
# The one payflow image: every role is a subcommand of the same binary, so the chart
# (helm/payflow) runs `payflow api`, `payflow worker`, `payflow migrate` and
# `payflow banksim` from it. Build: docker build -t payflow/payflow:TAG .

# Build: a static binary (CGO off; the MySQL and SQLite drivers are pure Go).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w" \
      -o /out/payflow ./cmd/payflow

# Run: distroless static (CA certificates for Stripe and TLS to Temporal, tzdata, no
# shell, no package manager) as the unprivileged user 65532, which the chart's
# securityContext also sets. The root filesystem can be read-only: payflow writes only
# to /tmp (an emptyDir in the chart) and, for the bank simulator, its data directory.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/payflow /usr/local/bin/payflow
USER 65532:65532
# The API's port and the worker's metrics port (the bank simulator's is 8090).
EXPOSE 8080 9091
ENTRYPOINT ["/usr/local/bin/payflow"]
CMD ["api"]
