# The two commands of the README. Both do all the set-up first.
.PHONY: setup run test lint bench

RUN_DIR ?= .keelwatch-run

setup:
	@bash scripts/setup.sh

run: setup
	KEELWATCH_HOME=$(RUN_DIR)/home uv run python examples/build_images.py --out $(RUN_DIR)/images
	KEELWATCH_HOME=$(RUN_DIR)/home uv run keelwatch scan oci:$(RUN_DIR)/images/app-python

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
