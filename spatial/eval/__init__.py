"""Evaluation against ground truth: trajectory metrics (:mod:`spatial.eval.trajectory`) and
reconstruction metrics (:mod:`spatial.eval.reconstruction`). Import the submodule you need."""
