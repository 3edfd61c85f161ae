# Multi-stage build: a static binary on a distroless base, running as non-root.
#   docker build -t gatehouse .
#   docker run -p 8080:8080 -v $PWD/gatehouse.yaml:/etc/gatehouse/gatehouse.yaml:ro \
#     -v gatehouse-keys:/var/lib/gatehouse gatehouse
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /out/gatehouse ./cmd/gatehouse \
 && mkdir -p /out/data && chown 65532:65532 /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/gatehouse /usr/local/bin/gatehouse
COPY --from=build --chown=65532:65532 /out/data /var/lib/gatehouse
USER 65532:65532
ENV GATEHOUSE_CONFIG=/etc/gatehouse/gatehouse.yaml \
    GATEHOUSE_DATA_DIR=/var/lib/gatehouse
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/gatehouse"]
CMD ["serve"]
