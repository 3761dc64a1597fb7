# The two commands of the README. Both do all the set-up first.
.PHONY: setup run test lint bench

RUN_DIR ?= .keelwatch-run

setup:
	@bash scripts/setup.sh

SHARED_DATA ?= ../shared/data

# The main job on the embedded default (SQLite under $(RUN_DIR)/home): build the example
# images, load vulnerability data (an offline mirror when one is at hand, else the
# publishers, else the small offline bundle in examples/data), then scan the example application and show its lineage.
run: setup
	KEELWATCH_HOME=$(RUN_DIR)/home uv run python examples/build_images.py --out $(RUN_DIR)/images
	@if [ -d "$(SHARED_DATA)" ]; then \
	  KEELWATCH_HOME=$(RUN_DIR)/home uv run keelwatch db update --from $(SHARED_DATA); \
	else \
	  KEELWATCH_HOME=$(RUN_DIR)/home uv run keelwatch db update || \
	  { echo "run: publishers unreachable; loading the offline bundle examples/data"; \
	    KEELWATCH_HOME=$(RUN_DIR)/home uv run keelwatch db update --from examples/data; }; \
	fi
	KEELWATCH_HOME=$(RUN_DIR)/home uv run keelwatch scan -q oci:$(RUN_DIR)/images/debian-base --no-vulns -f json -o $(RUN_DIR)/debian-base.json
	KEELWATCH_HOME=$(RUN_DIR)/home uv run keelwatch scan -q oci:$(RUN_DIR)/images/python-base --no-vulns -f json -o $(RUN_DIR)/python-base.json
	KEELWATCH_HOME=$(RUN_DIR)/home uv run keelwatch scan oci:$(RUN_DIR)/images/app-python
	KEELWATCH_HOME=$(RUN_DIR)/home uv run keelwatch lineage oci:$(RUN_DIR)/images/app-python

test: setup
	@bash scripts/services.sh
	uv run ruff check src tests bench examples
	uv run ruff format --check src tests bench examples
	uv run pytest

lint:
	uv run ruff check --fix src tests bench examples
	uv run ruff format src tests bench examples

bench: setup
	uv run python bench/scan_vs_syft.py
