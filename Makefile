# threefold: the README's two commands are `make demo` and `make test`.
# Every target sets up its own virtual environment first (.venv), from pyproject.toml.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PORT   ?= 8000
CHROMIUM := /usr/bin/chromium
CHROMEDRIVER := /usr/bin/chromedriver

# make load / make compare: which stage, which load (see README "Load tests and the comparison")
STAGE   ?= monolith
SHAPE   ?= step
PROFILE ?= short
PACING  ?= fixed
RATE    ?= 10
URL       ?=
NAMESPACE ?=
URLS       ?=
NAMESPACES ?=
# make capacity (and the ramp of make compare): the objective each step must meet
READ_P95   ?= 250
ORDER_P95  ?= 1000
MAX_ERRORS ?= 1
CAPACITY   ?= 1
OBJECTIVE   = --read-p95 $(READ_P95) --order-p95 $(ORDER_P95) --max-errors $(MAX_ERRORS)
# make fetch-cluster / compare-cluster: the local folder the in-cluster runs are copied into
RESULTS ?= reports/cluster
# make chaos: the database the stage runs on (sqlite or postgresql); KEEP=1 keeps PostgreSQL's
DB   ?= sqlite
KEEP ?=

.PHONY: help install demo test test-unit test-contract test-faults-all fuzz lint format openapi run-monolith run-microservices run-functions trace bench profile bench-services clean reset demo-orders load compare capacity chaos test-load test-storefront test-readme test-labs k8s-check

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/[$$](PORT)/$(PORT)/g' \
	  | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,load]'
	touch $(STAMP)

# Debian's chromium: the comparison report's test opens the page in a real headless browser.
# Only the test targets that need it install it (apt-get, as root); install, demo and
# run-* need neither root nor a browser.
$(CHROMIUM):
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
	  || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	  || { echo "could not install chromium (apt-get, as root)"; exit 1; }

# Debian's chromium-driver: the storefront's browser tests drive chromium through it
# (selenium), so no driver or browser is downloaded at run time.
$(CHROMEDRIVER): | $(CHROMIUM)
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium-driver >/dev/null \
	  || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium-driver >/dev/null; } \
	  || { echo "could not install chromium-driver (apt-get, as root)"; exit 1; }

install: $(STAMP)  ## create .venv, install the project with its dev and load tools (no root needed)

demo: $(STAMP)  ## every stage started here in turn, the same short load and capacity ramp on each, one report [PROFILE=full]
	$(PY) -m loadtests demo --profile $(PROFILE)

demo-orders: $(STAMP)  ## start the monolith, seed it, place three orders, print what happened, stop
	$(PY) -m stages.demo

load: $(STAMP)  ## Locust against one stage: STAGE= SHAPE= [PROFILE= PACING= RATE= URL= ADMIN_TOKEN= NAMESPACE=]
	$(PY) -m loadtests run $(STAGE) --shape $(SHAPE) --profile $(PROFILE) --pacing $(PACING) \
	  --rate $(RATE) $(if $(URL),--url $(URL)) $(if $(NAMESPACE),--namespace $(NAMESPACE)) \
	  $(if $(ADMIN_TOKEN),--admin-token "$(ADMIN_TOKEN)")

compare: $(STAMP)  ## the same load against every stage, then its capacity ramp, one report: SHAPE= [URLS="stage=url ..." CAPACITY=0 ...]
	$(PY) -m loadtests compare --shape $(SHAPE) --profile $(PROFILE) --pacing $(PACING) \
	  --rate $(RATE) $(foreach u,$(URLS),--url $(u)) $(foreach n,$(NAMESPACES),--namespace $(n)) \
	  $(if $(ADMIN_TOKEN),--admin-token "$(ADMIN_TOKEN)") $(OBJECTIVE) \
	  $(if $(filter 0,$(CAPACITY)),--no-capacity)

capacity: $(STAMP)  ## the capacity ramp against one stage: STAGE= [PROFILE=full READ_P95=ms ORDER_P95=ms MAX_ERRORS=% RATE= URL=]
	$(PY) -m loadtests capacity $(STAGE) --profile $(PROFILE) --rate $(RATE) $(OBJECTIVE) \
	  $(if $(URL),--url $(URL)) $(if $(ADMIN_TOKEN),--admin-token "$(ADMIN_TOKEN)")

.PHONY: fetch-cluster compare-cluster
fetch-cluster: $(STAMP)  ## copy the in-cluster load run (k8s/loadtest) into RESULTS= (reports/cluster)
	$(PY) -m loadtests fetch $(RESULTS)

compare-cluster: $(STAMP)  ## the comparison report of the in-cluster runs fetched into RESULTS=
	$(PY) -m loadtests report $(RESULTS)

chaos: $(STAMP)  ## load one stage while faults are injected, then reconcile: STAGE= [DB=postgresql]
	$(PY) -m loadtests chaos $(STAGE) --db $(DB) $(if $(KEEP),--keep)

# make project: the projection to a cluster from the manifests (every figure "projected")
LOAD ?= 10x
.PHONY: project
project: $(STAMP)  ## projected replicas/cores at LOAD= (10x): STAGE= FROM=<run's stage folder or JSON> | CPU_MS=name=ms,... RPS= [SHAPE=]
	$(PY) -m loadtests project --stage $(STAGE) --load $(LOAD) \
	  $(if $(FROM),--from $(FROM),--cpu-ms "$(CPU_MS)" --rps $(RPS)) \
	  $(if $(filter command line,$(origin SHAPE)),--shape $(SHAPE))

test: $(STAMP) $(CHROMIUM) $(CHROMEDRIVER)  ## lint, then every test (unit, contract on SQLite and PostgreSQL, integration, storefront in a browser)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest

test-unit: $(STAMP)  ## only the domain rules (fast)
	$(VENV)/bin/pytest tests/unit -q

test-contract: $(STAMP)  ## only the black-box contract suite, against every stage
	$(VENV)/bin/pytest tests/contract

test-faults-all: $(STAMP)  ## the microservices fault suite, every test on SQLite and PostgreSQL (minutes)
	FAULT_DATABASES=all $(VENV)/bin/pytest tests/faults/test_microservices_faults.py

fuzz: $(STAMP)  ## schemathesis against every stage, longer than in make test (FUZZ_EXAMPLES= FUZZ_SCENARIOS=)
	FUZZ_EXAMPLES=$(or $(FUZZ_EXAMPLES),40) FUZZ_SCENARIOS=$(or $(FUZZ_SCENARIOS),80) \
	  $(VENV)/bin/pytest tests/fuzz

test-storefront: $(STAMP) $(CHROMIUM) $(CHROMEDRIVER)  ## only the storefront, in headless chromium, against every stage
	$(VENV)/bin/pytest tests/storefront

test-load: $(STAMP) $(CHROMIUM)  ## only the load test tests (a short Locust run, sampler, report)
	$(VENV)/bin/pytest tests/loadtests

k8s-check: $(STAMP)  ## only the offline Kubernetes checks: overlays built, validated, policy (kubectl)
	$(VENV)/bin/pytest tests/k8s -q

test-readme: $(STAMP)  ## only the README's curl examples, run against every stage
	$(VENV)/bin/pytest tests/readme

test-labs: $(STAMP)  ## only the workshop labs (docs/labs), each run as its page says in a fresh copy (2 to 3 min)
	$(VENV)/bin/pytest tests/labs

.PHONY: test-solutions lab-solutions
test-solutions: $(STAMP) $(CHROMIUM) $(CHROMEDRIVER)  ## lab 8's solution patches, each applied in a copy with the WHOLE suite run (about 3 times make test)
	SOLUTION_TESTS=full $(VENV)/bin/pytest -s tests/labs/test_solutions.py

lab-solutions: $(STAMP)  ## write lab 8's solution patches (docs/labs/solutions) again against HEAD, after main moved
	$(PY) -m tools.lab_solutions

lint: $(STAMP)  ## ruff check and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)  ## apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

openapi: $(STAMP)  ## regenerate shop/openapi.json from the shared schemas
	$(PY) -m shop.openapi > shop/openapi.json

run-monolith: $(STAMP)  ## run the monolith on http://127.0.0.1:$(PORT) (storefront at /) until Ctrl-C (data in data/monolith/)
	$(PY) -m stages run monolith --port $(PORT)

run-microservices: $(STAMP)  ## run the gateway on http://127.0.0.1:$(PORT) and the five services
	$(PY) -m stages run microservices --port $(PORT)

run-functions: $(STAMP)  ## run the gateway on http://127.0.0.1:$(PORT), the functions and the broker
	$(PY) -m stages run functions --port $(PORT)

trace: $(STAMP)  ## one order's trace as a waterfall, from the spans of make run-STAGE: STAGE= [ORDER=id]
	$(PY) -m stages trace $(STAGE) $(if $(ORDER),--order $(ORDER))

bench: $(STAMP)  ## every figure of issue 11's targets table in one run, each with its target [QUICK=1]
	@command -v wrk >/dev/null || apt-get install -y wrk || { echo "install wrk"; exit 1; }
	$(PY) -m benchmarks $(if $(QUICK),--quick)

profile: $(STAMP)  ## py-spy flame graphs of one stage's read path under load: STAGE= (reports/profile/)
	$(PY) -m benchmarks.stage_profile $(STAGE)

bench-services: $(STAMP)  ## a service's /healthz vs bare FastAPI, split stages' reads vs the monolith
	@command -v wrk >/dev/null || apt-get install -y wrk || { echo "install wrk"; exit 1; }
	$(PY) -m benchmarks.service_overhead

# Images (Containerfile): one per stage, named as the manifests name them.
.PHONY: images kind-load test-images
VERSION   := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -1)
# The three stages, and the in-cluster load test's image (k8s/loadtest: Locust, loadtests/).
IMAGE_STAGES := monolith microservices functions loadtest
# podman if it is installed, else docker (ENGINE=docker to choose); kind's cluster name.
ENGINE    ?= $(or $(shell command -v podman 2>/dev/null),$(shell command -v docker 2>/dev/null))
KIND_CLUSTER ?= kind
# The base every image starts from; make test-images passes one made here (debootstrap).
PYTHON_BASE ?=
# pip inside a build verifies PyPI with this machine's CA bundle, mounted read-only (podman
# only): never copied into an image.
CA_BUNDLE := /etc/ssl/certs/ca-certificates.crt
BUILD_FLAGS = $(if $(filter %podman,$(ENGINE)),--isolation chroot $(if $(wildcard $(CA_BUNDLE)),-v $(CA_BUNDLE):$(CA_BUNDLE):ro))

images:  ## build the stage images and the load test's, localhost/threefold/<name>:<version>
	@test -n "$(ENGINE)" || { echo "make images needs podman or docker on PATH (neither found)"; exit 1; }
	@for stage in $(IMAGE_STAGES); do \
	  echo "== building localhost/threefold/$$stage:$(VERSION) with $(ENGINE)"; \
	  $(ENGINE) build $(BUILD_FLAGS) --target $$stage -f Containerfile \
	    $(if $(PYTHON_BASE),--build-arg PYTHON_BASE=$(PYTHON_BASE)) \
	    -t localhost/threefold/$$stage:$(VERSION) . || exit 1; \
	done

kind-load:  ## load the four images into a kind cluster (KIND_CLUSTER=kind), after make images
	@command -v kind >/dev/null || { echo "make kind-load needs kind on PATH (https://kind.sigs.k8s.io)"; exit 1; }
	@test -n "$(ENGINE)" || { echo "make kind-load needs podman or docker on PATH (neither found)"; exit 1; }
	@for stage in $(IMAGE_STAGES); do \
	  image=localhost/threefold/$$stage:$(VERSION); \
	  case "$(ENGINE)" in \
	    *podman) archive=$$(mktemp --suffix=.tar) \
	      && podman save --format docker-archive -o $$archive $$image \
	      && kind load image-archive --name $(KIND_CLUSTER) $$archive; rc=$$?; rm -f $$archive ;; \
	    *) kind load docker-image --name $(KIND_CLUSTER) $$image; rc=$$? ;; \
	  esac; \
	  test $$rc -eq 0 || { echo "could not load $$image into kind cluster $(KIND_CLUSTER)"; exit 1; }; \
	done

# make test-images: a Debian bookworm base made here with debootstrap (no registry to pull
# from), imported once into podman and kept (.cache/, the stamp below) between runs.
BASE_IMAGE := localhost/threefold/base-bookworm:python3
# The overlays run (default: k8s/monolith, k8s/microservices, k8s/functions).
OVERLAYS ?=
BASE_CACHE := .cache/images
BASE_STAMP := $(BASE_CACHE)/base-bookworm.stamp
IMAGE_TOOLS := /usr/bin/podman /usr/bin/buildah /usr/sbin/debootstrap

$(IMAGE_TOOLS):
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman buildah debootstrap >/dev/null \
	  || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman buildah debootstrap >/dev/null; } \
	  || { echo "could not install podman, buildah and debootstrap (apt-get, as root)"; exit 1; }

$(BASE_STAMP): | $(IMAGE_TOOLS)
	mkdir -p $(BASE_CACHE)
	rm -rf $(BASE_CACHE)/rootfs
	debootstrap --variant=minbase --include=python3,python3-venv bookworm $(BASE_CACHE)/rootfs >$(BASE_CACHE)/debootstrap.log \
	  || { tail -20 $(BASE_CACHE)/debootstrap.log; echo "debootstrap failed (log: $(BASE_CACHE)/debootstrap.log)"; exit 1; }
	rm -rf $(BASE_CACHE)/rootfs/var/cache/apt/archives/*.deb $(BASE_CACHE)/rootfs/var/lib/apt/lists/*
	tar -C $(BASE_CACHE)/rootfs -c . | podman import - $(BASE_IMAGE)
	rm -rf $(BASE_CACHE)/rootfs
	touch $@

test-images: $(STAMP) $(BASE_STAMP)  ## build the images on a debootstrap base, run every workload of every overlay as its manifest says
	@podman image exists $(BASE_IMAGE) || { rm -f $(BASE_STAMP); $(MAKE) --no-print-directory $(BASE_STAMP); }
	$(MAKE) --no-print-directory images ENGINE=podman PYTHON_BASE=$(BASE_IMAGE)
	$(PY) -m tools.podrun $(foreach o,$(OVERLAYS),--overlay $(o))

reset:  ## delete every stage's local data (data/), keep .venv and reports/
	rm -rf data

clean:  ## remove the local data and the virtual environment
	rm -rf data $(VENV) .pytest_cache .ruff_cache *.egg-info
