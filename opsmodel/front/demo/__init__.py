"""The demo map, as data: map.json is a map document in the export format (see exchange.py)
that `loaddemo` imports, its dates moved to today.

It is the source document's own example business, and it shows on purpose what the app is for:
a step overdue (Scripting), reviews and metrics due this week, a step with no due date, an
SOP too big for one sitting ("Launching the course": the health checks flag it, and a founder
can turn it into a process), SOPs that belong to no step, and a team member ("member") who
owns a metric ("Videos published") and a process.

To change it, edit map.json (or load it, change the map in the app, `exportmap`, and keep the
demo people); `written` is the day its dates are as of.
"""
