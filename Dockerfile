# Inventory API image: production dependencies only, runs as the image's non-root `bun` user.
#   docker build -t inventory-api .
# The embedded PostgreSQL (an optional dependency for local development) is left out: the image
# needs an external PostgreSQL (DATABASE_URL or DATABASE_HOST), which production requires anyway.
ARG BUN_IMAGE=oven/bun:1-slim

FROM ${BUN_IMAGE} AS deps
WORKDIR /app
COPY package.json bun.lock ./
# Bun also installs the peers that elysia and @elysiajs/openapi declare for their type generation
# (typescript, @types/bun); nothing at run time loads them.
RUN bun install --frozen-lockfile --production --omit=optional \
    && rm -rf node_modules/typescript node_modules/@types node_modules/bun-types node_modules/undici-types

FROM ${BUN_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000
# Owned by root and read-only for the app user: the process cannot rewrite its own code.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json bunfig.toml ./
COPY migrations ./migrations
COPY src ./src
USER bun
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["bun", "src/healthcheck.ts"]
# Exec form (and the base image's entrypoint ends in `exec`): bun is PID 1 and receives SIGTERM
# itself; src/index.ts then stops accepting, finishes in-flight requests and closes the pool.
CMD ["bun", "src/index.ts"]
