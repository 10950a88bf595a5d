# shoal: the two commands a newcomer needs are `make up` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PROTOS := $(wildcard proto/shoal/api/v1/*.proto)
GEN := kernel/api/v1
DESCRIPTORS := descriptors.binpb
# The example plugin package (a third party's kind, with its own message).
WIDGETS := examples/shoal-widgets

.PHONY: up down test test-fast lint typecheck proto proto-check bench bench-scale clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

# Set up and start a local cluster: server, control plane and one agent.
up: $(VENV)/.installed
	$(VENV)/bin/shoal up

down: $(VENV)/.installed
	$(VENV)/bin/shoal down

test: $(VENV)/.installed proto-check typecheck
	$(PY) -m ruff check .
	$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

test-fast: $(VENV)/.installed
	$(PY) -m pytest -q -x -m 'not e2e' $(PYTEST_ARGS)

lint: $(VENV)/.installed typecheck
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# mypy sees the code as it is imported (`shoal`, `shoal.plugins`...) through a
# tree of links, so imports between the folders are checked too; pointed at
# the folders themselves it would take every `shoal` import for unknown.
typecheck: $(VENV)/.installed
	rm -rf build/mypy && mkdir -p build/mypy/shoal
	for f in kernel/*; do ln -s "$(CURDIR)/$$f" build/mypy/shoal/; done
	for d in plugins agent ctl; do ln -s "$(CURDIR)/$$d" build/mypy/shoal/$$d; done
	cd build/mypy && MYPYPATH=. $(CURDIR)/$(PY) -m mypy --config-file $(CURDIR)/pyproject.toml -p shoal
	cd build/mypy && MYPYPATH=.:$(CURDIR)/$(WIDGETS) $(CURDIR)/$(PY) -m mypy \
	    --config-file $(CURDIR)/pyproject.toml -p shoal_widgets

# Regenerate the protobuf and gRPC code from proto/ (committed), and a
# descriptor set with the comments (source info), which the REST gateway turns
# into the descriptions of its OpenAPI documents (kubectl explain).
proto: $(VENV)/.installed
	rm -rf build/proto && mkdir -p build/proto
	$(PY) -m grpc_tools.protoc -Iproto --python_out=build/proto --pyi_out=build/proto \
	    --grpc_python_out=build/proto --include_source_info \
	    --descriptor_set_out=build/proto/shoal/api/v1/$(DESCRIPTORS) $(PROTOS)
	rm -f $(GEN)/*_pb2*.py $(GEN)/*_pb2*.pyi
	cp build/proto/shoal/api/v1/*_pb2*.py build/proto/shoal/api/v1/*_pb2*.pyi \
	    build/proto/shoal/api/v1/$(DESCRIPTORS) $(GEN)/
	$(PY) -m grpc_tools.protoc -Iproto -I$(WIDGETS)/proto --python_out=$(WIDGETS) \
	    --pyi_out=$(WIDGETS) $(WIDGETS)/proto/shoal_widgets/widgets.proto

# Fails when the committed generated code differs from what proto/ gives.
proto-check: $(VENV)/.installed
	rm -rf build/proto-check && mkdir -p build/proto-check
	$(PY) -m grpc_tools.protoc -Iproto --python_out=build/proto-check \
	    --pyi_out=build/proto-check --grpc_python_out=build/proto-check --include_source_info \
	    --descriptor_set_out=build/proto-check/shoal/api/v1/$(DESCRIPTORS) $(PROTOS)
	@for f in build/proto-check/shoal/api/v1/*_pb2* build/proto-check/shoal/api/v1/$(DESCRIPTORS); do \
	  cmp -s $$f $(GEN)/$$(basename $$f) || { echo "stale generated code: $(GEN)/$$(basename $$f); run 'make proto'"; exit 1; }; \
	done
	$(PY) -m grpc_tools.protoc -Iproto -I$(WIDGETS)/proto --python_out=build/proto-check \
	    --pyi_out=build/proto-check $(WIDGETS)/proto/shoal_widgets/widgets.proto
	@for f in build/proto-check/shoal_widgets/*; do \
	  cmp -s $$f $(WIDGETS)/shoal_widgets/$$(basename $$f) || { echo "stale generated code: $(WIDGETS)/shoal_widgets/$$(basename $$f); run 'make proto'"; exit 1; }; \
	done
	@for f in $(GEN)/*_pb2*; do \
	  [ -f build/proto-check/shoal/api/v1/$$(basename $$f) ] || { echo "generated file without a .proto: $$f"; exit 1; }; \
	done

bench: $(VENV)/.installed
	$(PY) -m bench

# Scale runs (minutes; docs/benchmarks.md), one bench per line: issue 18's
# density runs, then 1,000 Jobs x 10 completions on 100 hollow nodes.
bench-scale: $(VENV)/.installed
	$(PY) -m bench density
	$(PY) -m bench scale
	$(PY) -m bench jobs_scale

clean:
	rm -rf build $(VENV) *.egg-info
