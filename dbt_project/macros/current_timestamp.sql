{#-
  The story's clock. The incident happened in February 2024; measured against the
  machine's date everything would be "1000 days stale". dbt calls current_timestamp()
  wherever it needs "now": in source freshness (`dbt source freshness`), in the marts'
  _refreshed_at column and in freshness tests. WT06_AS_OF is set by the course's dbt
  runner from the one as-of setting (wt06/clock.py).
-#}
{% macro duckdb__current_timestamp() -%}
  cast('{{ env_var("WT06_AS_OF") }}' as timestamp)
{%- endmacro %}
