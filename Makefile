# Two commands matter: `make demo` and `make test`. Both create .venv and install what is missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DATA ?= ../shared/data
OUT ?= outputs
# open3d's shared-library needs (Debian package names) and the library each provides
DEB_PKGS := libusb-1.0-0 libgl1 libgomp1
DEB_LIBS := libusb-1.0.so.0 libGL.so.1 libgomp.so.1

.PHONY: install system-deps demo test lint bench clean

install: $(STAMP)

system-deps:
	@missing=""; libs=($(DEB_LIBS)); pkgs=($(DEB_PKGS)); \
	for i in "$${!libs[@]}"; do \
	  /sbin/ldconfig -p 2>/dev/null | grep -q "$${libs[$$i]}" || missing="$$missing $${pkgs[$$i]}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing system packages for open3d:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "open3d needs these system packages:$$missing"; \
	    echo "install them with: sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

$(STAMP): pyproject.toml | system-deps
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[all,dev]'
	@touch $@

# The default session: a simulated studio scan with full ground truth (regenerated when the
# simulator changes): tracked (ATE against its ground truth printed), reconstructed at the
# tracked poses and turned into a room (walls, openings, objects, floor plan); then the real
# 7-Scenes segment and the real ScanNet room when ../shared/data is present; three queries
# answered on each room (the studio's best hits drawn on their keyframes).
SIM := $(OUT)/sim_studio.mcap
$(SIM): $(wildcard sensors/sim/*.py) sensors/formats/mcap.py | install
	@mkdir -p $(OUT)
	$(VENV)/bin/spatial sim --preset studio --seed 0 --duration 20 --out $@

demo: install $(SIM)
	$(VENV)/bin/spatial info $(SIM) | tee $(OUT)/info_sim_studio.txt
	$(VENV)/bin/spatial replay $(SIM) --rrd $(OUT)/replay_sim_studio.rrd --sheet $(OUT)/frames_sim_studio.png
	$(VENV)/bin/spatial track $(SIM) --out $(OUT)/track_sim_studio --plot --rrd $(OUT)/track_sim_studio.rrd
	$(VENV)/bin/spatial reconstruct $(SIM) --poses $(OUT)/track_sim_studio/trajectory.tum --out $(OUT)/reconstruct_sim_studio
	$(VENV)/bin/spatial rooms $(OUT)/reconstruct_sim_studio/scene --out $(OUT)/rooms_sim_studio
	$(VENV)/bin/spatial query $(OUT)/rooms_sim_studio "somewhere to sit" "the chair nearest the door" \
	  "where can I sleep?" --draw $(OUT)/query_sim_studio --graph $(OUT)/query_sim_studio/graph.json
	@if [ -d $(DATA)/7scenes ]; then \
	  $(VENV)/bin/spatial info $(DATA)/7scenes | tee $(OUT)/info_7scenes.txt && \
	  $(VENV)/bin/spatial replay $(DATA)/7scenes --rrd $(OUT)/replay_7scenes.rrd --sheet $(OUT)/frames_7scenes.png && \
	  $(VENV)/bin/spatial track $(DATA)/7scenes --out $(OUT)/track_7scenes --plot && \
	  $(VENV)/bin/spatial reconstruct $(DATA)/7scenes --poses $(OUT)/track_7scenes/trajectory.tum --out $(OUT)/reconstruct_7scenes; \
	else echo "$(DATA)/7scenes not found: skipping the real-capture replay"; fi
	@if [ -d $(DATA)/scannet_scene0470_00_scan2cad ]; then \
	  $(VENV)/bin/spatial rooms $(DATA)/scannet_scene0470_00_scan2cad/scene0470_00_vh_clean_2.ply --up z --out $(OUT)/rooms_scannet && \
	  $(VENV)/bin/spatial query $(OUT)/rooms_scannet "the chair nearest the door" "the bin under the window" "the whiteboard"; \
	else echo "$(DATA)/scannet_scene0470_00_scan2cad not found: skipping the real room"; fi
	@echo "outputs written to $(OUT)/"

test: install
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q

bench: install
	$(PY) benchmarks/replay_throughput.py
	$(PY) benchmarks/sim_render.py
	$(PY) benchmarks/reconstruction.py
	$(PY) benchmarks/hands.py
	$(PY) benchmarks/tracking.py
	$(PY) benchmarks/rooms.py
	$(PY) benchmarks/grounding.py

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .ruff_cache
