"""`data init`: from a table to the project's proposals, in the order the data flows.

profile.py       profiles the file: column kinds, ranges, value sets, null rates, the label
plan.py          every file data init would write, and the checklist of what a person decides:
  project_yaml.py  project.yaml's dataset, split, gates, decision and bias blocks
  sample.py        the sample copy under data/sample/
  suites.py        both data-check suites
  feature_group.py the feature group under features/ (with the Feature Store)
changes.py       each change as a diff, then written whole
"""
