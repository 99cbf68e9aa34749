# fer_lib — set-up, tests and reproduction of the papers' tables.
# `make help` lists the targets.

PYTHON_BIN ?= python3.11
VENV       := .venv
PY         := $(VENV)/bin/python
STAMP      := $(VENV)/.fer_lib-setup

PAPER     ?= pcnn
TABLE     ?= ii
SCALE     ?=
DATASET   ?=
DATA_ROOT ?=
DEVICE    ?=
SEEDS     ?=
DRY_RUN   ?=
# Other notebook parameters, space-separated NAME=VALUE (VALUE as JSON): PARAMS='rows=["resnet50"] folds=[0,1]'
PARAMS    ?=
FORCE     ?=
export FORCE

REPRO_ARGS = $(if $(SCALE),--scale $(SCALE)) $(if $(DATASET),--dataset $(DATASET)) \
             $(if $(DATA_ROOT),--data-root $(DATA_ROOT)) $(if $(DEVICE),--device $(DEVICE)) \
             $(if $(SEEDS),--seeds $(SEEDS)) $(if $(DRY_RUN),--dry-run) \
             $(foreach param,$(PARAMS),--param '$(param)') \
             $(if $(EXECUTOR),--executor $(EXECUTOR)) $(if $(PARTITION),--partition $(PARTITION)) \
             $(if $(GPUS_PER_JOB),--gpus-per-job $(GPUS_PER_JOB)) $(if $(CPUS_PER_JOB),--cpus-per-job $(CPUS_PER_JOB)) \
             $(if $(TIME_MIN),--time-min $(TIME_MIN)) $(if $(ARRAY_PARALLELISM),--array-parallelism $(ARRAY_PARALLELISM))

.PHONY: help setup test test-unit test-notebooks lint reproduce reproduce-all report lab bench gpu-check plan clean-runs pretrain

help:
	@echo "make setup                 create .venv, install pinned dependencies, fer_lib (editable), the kernel"
	@echo "make test                  unit tests + every notebook under nbval at the smoke scale"
	@echo "make reproduce PAPER=pcnn TABLE=ii [SCALE=smoke|cpu|paper] [DATASET=..] [DATA_ROOT=..] [SEEDS=0,1,2]"
	@echo "make reproduce PAPER=gmslpa TABLE=6 PARAMS='rows=[\"resnet50\",\"gmslpa_net\"] folds=[0,1]'  other notebook parameters"
	@echo "make reproduce-table-ii    short form for PCNN's tables (any id: reproduce-table-v ...)"
	@echo "make reproduce-table-v DRY_RUN=1   the paper recipe for 2 steps per run, into runs/dry-run/ (any device)"
	@echo "make reproduce-figure-10   short form for PCNN's figures (10, 11, 12)"
	@echo "make reproduce-all         every table and figure, then the report"
	@echo "make report                rebuild results/REPORT.md"
	@echo "make lab                   JupyterLab on the notebooks"
	@echo "make bench                 training/latency benchmark of every model vs ResNet-18 -> results/bench.csv"
	@echo "make gpu-check [DATA_ROOT=..] [GPU_CHECK_ARGS=--data-paths]  paper-scale speed on this device -> results/gpu/"
	@echo "make plan                  every table's paper-scale grid (its dry run) -> results/gpu/plan/ (for gpu-check)"
	@echo "make pretrain [DATA_ROOT=..] [SOURCE=auto|fer2013|synth] [ARCH=resnet18|resnet50|ir50|mobilefacenet]  the cpu scale's pretrained trunk (else the first table trains it)"
	@echo "FORCE=1                    retrain instead of loading cached runs from runs/"
	@echo "EXECUTOR=slurm             run the table's trainings as SLURM jobs (or submitit-local); PARTITION=,"
	@echo "                           GPUS_PER_JOB=, CPUS_PER_JOB=, TIME_MIN=, ARRAY_PARALLELISM= (README: cluster)"

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON_BIN) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	$(PY) -m ipykernel install --user --name fer_lib --display-name "Python (fer_lib)" >/dev/null
	@if [ -x scripts/install_browser.sh ]; then scripts/install_browser.sh; fi
	@if [ -x scripts/install_slurm.sh ]; then scripts/install_slurm.sh; fi
	@touch $(STAMP)
	@echo "set-up done: $(VENV) ($$($(PY) -c 'import torch; print("torch", torch.__version__)'))"

test: setup
	FER_SCALE=smoke $(PY) -m pytest tests notebooks --nbval-lax -p no:cacheprovider

test-unit: setup
	$(PY) -m pytest tests

test-notebooks: setup
	FER_SCALE=smoke $(PY) -m pytest notebooks --nbval-lax -p no:cacheprovider

lint: setup
	$(VENV)/bin/ruff check fer_lib tests scripts

reproduce: setup
	$(PY) -m fer_lib.reproduce run --paper $(PAPER) --table $(TABLE) $(REPRO_ARGS)

reproduce-table-%: setup
	$(PY) -m fer_lib.reproduce run --paper $(PAPER) --table $* $(REPRO_ARGS)

reproduce-figure-%: setup
	$(PY) -m fer_lib.reproduce run --paper $(PAPER) --table figure_$* $(REPRO_ARGS)

reproduce-all: setup
	$(PY) -m fer_lib.reproduce all $(REPRO_ARGS)

report: setup
	$(PY) -m fer_lib.reproduce report

lab: setup
	$(VENV)/bin/jupyter lab notebooks

bench: setup
	$(PY) scripts/bench.py

# The paper scale on this device (at most 8 minutes on one GPU): throughput with/without mixed precision and
# torch.compile, peak memory, the data path's share, one paper epoch, each table's projected time -> results/gpu/.
gpu-check: setup
	$(PY) -m fer_lib.gpu_check $(if $(DATA_ROOT),--data-root $(DATA_ROOT)) $(if $(DEVICE),--device $(DEVICE)) $(GPU_CHECK_ARGS)

# Every table's paper-scale grid, from its dry run, committed under results/gpu/plan/ (gpu-check prices it).
plan: setup
	$(MAKE) reproduce-all DRY_RUN=1
	$(PY) -m fer_lib.gpu_check --collect-plans

SOURCE ?= auto
pretrain: setup
	$(PY) -m fer_lib.reproduce pretrain --source $(SOURCE) $(if $(DATA_ROOT),--data-root $(DATA_ROOT)) $(if $(DEVICE),--device $(DEVICE)) $(if $(ARCH),--arch $(ARCH))

clean-runs:
	rm -rf runs
