"""The status page: a status model gathered from state storage (`model`), the estate verdict (`estate`),
and its HTML with inline SVG charts (`page`, `charts`)."""
