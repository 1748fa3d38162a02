{#-
  The story's clock. The incident happened on the story's own dates; measured against the
  machine's date everything would be "1000 days stale". dbt calls current_timestamp()
  wherever it needs "now": in source freshness (`dbt source freshness`), in the marts'
  _refreshed_at column and in freshness tests. It reads the warehouse's own clock, the
  as_of() macro stored in the file: the build sets it to the story's "now" (from
  data/scenario.json, or WT06_AS_OF), and the course's helpers move it when they replay
  another moment. One clock, wherever dbt runs from: a notebook or a terminal.
-#}
{% macro duckdb__current_timestamp() -%}
  main.as_of()
{%- endmacro %}
