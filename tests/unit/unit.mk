# C unit tests (Check). Included by the top-level Makefile.
.PHONY: unit
unit:
	@echo "unit tests: none yet"
