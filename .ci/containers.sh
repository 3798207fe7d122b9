#!/usr/bin/env bash
# The container step of .ci/run: starts a Docker engine with ../shared/containers/standins.sh (local
# stand-ins for the base images, see its README), builds the image with the project's Dockerfile
# through compose.yaml, starts the stack with API_REPLICAS=2, waits for health, runs
# test/containers/ (`bun run test:containers`) against it, and always tears down what it started:
# the stack with `docker-compose down -v`, the engine with `standins.sh stop`, its docker0 bridge.
# Exit status: 0 passed, 77 skipped (no engine here; the reason is printed), anything else failed.
set -uo pipefail
cd "$(dirname "$0")/.."

SKIP=77
STANDINS=../shared/containers/standins.sh
export DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0 # the engine here has the classic builder only
PROJECT=inventory-ci-$$

T0=$(date +%s)
step_t0=$T0
step() { echo "=== containers: $*"; step_t0=$(date +%s); }
done_step() { echo "=== containers: done in $(($(date +%s) - step_t0)) s"; }
skip() { echo "=== containers: SKIPPED: $*"; exit $SKIP; }

[[ -f $STANDINS ]] || skip "no $STANDINS beside the repository"
# compose.yaml reads .env; the step writes its own and must not touch a developer's.
[[ -e .env ]] && skip "a .env exists in this checkout (the step writes its own .env; run it in a fresh clone, as CI does)"

engine_was_running=false
docker info >/dev/null 2>&1 && engine_was_running=true
bridge_existed=false
ip link show docker0 >/dev/null 2>&1 && bridge_existed=true

teardown() {
  local status=$?
  trap - EXIT
  step "teardown"
  if command -v docker-compose >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    docker-compose -p "$PROJECT" down -v --remove-orphans --timeout 30 2>&1 | tail -3
  fi
  rm -f .env
  if [[ $engine_was_running == false ]]; then
    bash "$STANDINS" stop
    [[ $bridge_existed == false ]] && ip link show docker0 >/dev/null 2>&1 && ip link delete docker0
  fi
  # What must be gone: the project's containers and networks; the engine and its bridge if we started them.
  local left=""
  if docker info >/dev/null 2>&1; then
    [[ -n $(docker ps -aq --filter "label=com.docker.compose.project=$PROJECT") ]] && left+=" containers"
    [[ -n $(docker network ls -q --filter "label=com.docker.compose.project=$PROJECT") ]] && left+=" networks"
  fi
  if [[ $engine_was_running == false ]]; then
    pgrep -x dockerd >/dev/null && left+=" dockerd"
    ip link show docker0 >/dev/null 2>&1 && left+=" docker0"
  fi
  if [[ -n $left ]]; then
    echo "=== containers: teardown left:$left"
    [[ $status -eq 0 ]] && status=1
  else
    echo "=== containers: nothing left behind (no stack, $([[ $engine_was_running == false ]] && echo 'no dockerd, no docker0' || echo 'the engine that was already running kept'))"
  fi
  done_step
  echo "=== containers: total $(($(date +%s) - T0)) s"
  exit "$status"
}

step "engine and base-image stand-ins ($STANDINS)"
standins_log=$(mktemp)
if ! SKIP_EXISTING=1 bash "$STANDINS" >"$standins_log" 2>&1; then
  tail -15 "$standins_log"
  # It may have started dockerd before failing: stop that one.
  [[ $engine_was_running == false ]] && bash "$STANDINS" stop >/dev/null 2>&1
  skip "the container engine could not be set up here (last lines above)"
fi
grep -E '^(=== |dockerd pid|a Docker engine|oven/|pgvector/|nginx:)' "$standins_log"
rm -f "$standins_log"
done_step
trap teardown EXIT
trap 'exit 143' TERM INT # a signal ends the script through teardown too

free_port() { bun -e 'const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() }); console.log(s.port); s.stop(true)'; }
API_PORT=$(free_port)
ADMIN_PASSWORD=stack-admin-$(openssl rand -hex 8)
# What base64 passwords look like (/ + =) and more that a URL would misread (# ? @ %).
POSTGRES_PASSWORD="$(openssl rand -base64 12)/#?@%+="
# .env.example with the secrets filled in: the file a user makes by following the README.
awk -v pg="$POSTGRES_PASSWORD" -v jwt="$(openssl rand -hex 32)" -v admin="$ADMIN_PASSWORD" -v port="$API_PORT" '
  /^POSTGRES_PASSWORD=/ { print "POSTGRES_PASSWORD=" pg; next }
  /^JWT_SECRET=/ { print "JWT_SECRET=" jwt; next }
  /^ADMIN_PASSWORD=/ { print "ADMIN_PASSWORD=" admin; next }
  /^API_PORT=/ { print "API_PORT=" port; next }
  /^API_REPLICAS=/ { print "API_REPLICAS=2"; next }
  { print }' .env.example >.env

step "build (docker-compose build: the project's Dockerfile, built once for migrate and api)"
build_log=$(mktemp)
docker-compose -p "$PROJECT" build 2>&1 | tee "$build_log" | grep -E '^(Building|Successfully|.* uses an image)'
[[ ${PIPESTATUS[0]} -eq 0 ]] || { tail -30 "$build_log"; echo "=== containers: the build failed"; exit 1; }
builds=$(grep -c '^Building ' "$build_log")
rm -f "$build_log"
[[ $builds -eq 1 ]] || { echo "=== containers: $builds builds, expected 1"; exit 1; }
done_step

step "up (API_REPLICAS=2), then wait for /health/ready through the proxy on 127.0.0.1:$API_PORT"
API_REPLICAS=2 docker-compose -p "$PROJECT" up -d 2>&1 | grep -E 'done|ERROR|error'
[[ ${PIPESTATUS[0]} -eq 0 ]] || { docker-compose -p "$PROJECT" logs --tail 30; echo "=== containers: up failed"; exit 1; }
ready=false
for _ in $(seq 120); do
  if [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$API_PORT/health/ready") == 200 ]]; then ready=true; break; fi
  sleep 1
done
docker-compose -p "$PROJECT" ps
[[ $ready == true ]] || { docker-compose -p "$PROJECT" logs --tail 40; echo "=== containers: the stack did not become ready"; exit 1; }
done_step

step "test:containers (walk-through through the proxy, then the containers themselves)"
STACK_URL="http://127.0.0.1:$API_PORT" STACK_PROJECT="$PROJECT" STACK_ADMIN_PASSWORD="$ADMIN_PASSWORD" bun run test:containers
status=$?
done_step
exit $status
