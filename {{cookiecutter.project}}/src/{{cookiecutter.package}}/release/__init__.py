"""Release: model versions in the registry, promoted through environments/ (git) and deployed
to one endpoint stack per stage."""
