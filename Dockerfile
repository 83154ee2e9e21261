# Teller container image: the four binaries (collector, sessionizer,
# dashboard, teller) in one small image. docker-compose.yml runs each service
# from it with its own `command`; there is deliberately no ENTRYPOINT and no
# CMD, so `docker run teller:local collector` (or sessionizer, dashboard,
# teller ...) picks the program.
#
#   docker build -t teller:local .
#
# Checked statically by go test ./deploy/ (every cmd/*/main.go must be
# built here; FROM lines pinned).

# ---- build ------------------------------------------------------------------
FROM golang:1.26-bookworm AS build

WORKDIR /src

# The golang images set GOTOOLCHAIN=local; auto lets an image whose Go is
# older than go.mod's `go` line fetch that toolchain from the module proxy
# instead of failing.
ENV GOTOOLCHAIN=auto

# Dependencies first: this layer is reused until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download

COPY . .

# Static, reproducible binaries: no cgo (the final image has no libc), no
# local paths, no symbol tables.
ENV CGO_ENABLED=0
RUN go build -trimpath -ldflags="-s -w" -o /out/ \
        ./cmd/collector \
        ./cmd/sessionizer \
        ./cmd/dashboard \
        ./cmd/teller \
        ./cmd/loadgen \
        ./cmd/dashbench \
        ./cmd/collectorbench \
        ./cmd/pipebench

# The collector's spool directory (docker-compose.yml mounts a named volume
# there): a new volume takes the ownership of the image's directory, so it
# must exist here, owned by the runtime user.
RUN mkdir -p /state/spool

# ---- run --------------------------------------------------------------------
# distroless/static: CA certificates and tzdata (site time zones) but no shell,
# running as the unprivileged user "nonroot" (65532). Health checks therefore
# use `teller healthcheck -url ...` instead of wget/curl.
FROM gcr.io/distroless/static-debian12:nonroot

COPY --from=build /out/ /usr/local/bin/
COPY --from=build --chown=65532:65532 /state/ /var/lib/teller/

ENV PATH=/usr/local/bin:/usr/bin:/bin
USER 65532:65532

# collector, dashboard, sessionizer (health and metrics)
EXPOSE 8081 8082 8083
