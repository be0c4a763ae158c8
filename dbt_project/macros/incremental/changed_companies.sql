{#-
    Incremental builds by company. A model configured with
    `materialized='incremental', incremental_strategy='replace_companies'` recomputes
    only the companies touched by file loads since the last successful full build
    (int_changed_companies) and replaces all of their rows: the strategy deletes every
    row of those companies, then inserts what the model computed for them, so a company
    whose rows vanished (a line no longer reported, a filing superseded) loses its stale
    rows too (delete+insert by unique_key would only delete the keys present in the new
    batch). The model reads its per-company inputs through `changed_only()`, which is the
    plain relation on a full build (first build, --full-refresh, dbt project changed).

    `company_key` (model config) says how a model's rows name their company:
      company   - columns source, symbol (default)
      filing    - column filing_id (facts per filing version: int_changed_filings)
      mart_key  - column mart_key_id (the tie-out chain: int_tieout__mart_keys)
-#}

{#- The load watermark: max_load_id of the last successful build of the whole project
    (meta.builds, written by the Dagster dbt asset). -1 when there is none (dbt run by
    hand on a warehouse without meta.builds): every company counts as changed, so an
    incremental model then recomputes everything, which is slower but never wrong. -#}
{% macro last_build_watermark() -%}
    {%- if not execute -%}
        {{ return(-1) }}
    {%- endif -%}
    {%- set exists = run_query(
        "select count(*) from information_schema.tables "
        ~ "where table_schema = 'meta' and table_name = 'builds'") -%}
    {%- if exists.columns[0].values()[0] == 0 -%}
        {{ return(-1) }}
    {%- endif -%}
    {%- set found = run_query(
        "select coalesce(arg_max(max_load_id, started_at), -1) from meta.builds "
        ~ "where status = 'success' and full_build") -%}
    {{ return(found.columns[0].values()[0] | int) }}
{%- endmacro %}


{#- The rows of `relation` that belong to changed companies (incremental builds), else
    the relation itself. `key` as `company_key` above. -#}
{% macro changed_only(relation, key='company') -%}
    {#- rendered on every build, so dbt sees the refs of the predicate at parse time -#}
    {%- set predicate = changed_predicate(key) -%}
    {%- if is_incremental() -%}
        (select * from {{ relation }} where {{ predicate }})
    {%- else -%}
        {{ relation }}
    {%- endif -%}
{%- endmacro %}


{% macro changed_predicate(key='company') -%}
    {%- if key == 'company' -%}
        (source, symbol) in (select source, symbol from {{ ref('int_changed_companies') }})
    {%- elif key == 'filing' -%}
        filing_id in (select filing_id from {{ ref('int_changed_filings') }})
    {%- elif key == 'mart_key' -%}
        mart_key_id in (
            select mart_key_id from {{ ref('int_tieout__mart_keys') }}
            where (source, symbol) in (select source, symbol from {{ ref('int_changed_companies') }})
        )
    {%- else -%}
        {{ exceptions.raise_compiler_error("changed_predicate: unknown key " ~ key) }}
    {%- endif -%}
{%- endmacro %}


{#- The custom incremental strategy: delete every row of the changed companies (and, for
    the tie-out chain, of mart keys that no longer exist), then insert the new rows. -#}
{% macro get_incremental_replace_companies_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set temp = arg_dict['temp_relation'] -%}
    {%- set key = config.get('company_key', 'company') -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ target }}
    where {{ changed_predicate(key) }}
    {%- if key == 'mart_key' %}
        or mart_key_id not in (select mart_key_id from {{ ref('int_tieout__mart_keys') }})
    {%- endif %};

    {{ incremental_fault_injection() }}

    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ temp }}
{%- endmacro %}


{#- Tests only: `--vars '{fail_incremental_model: <name>}'`, or the environment variable
    WAREHOUSE_FAIL_INCREMENTAL_MODEL=<name>, makes that model's incremental step fail after
    its delete (inside its transaction), the way a crash half-way through a build would. -#}
{% macro incremental_fault_injection() -%}
    {%- set victim = var('fail_incremental_model', env_var('WAREHOUSE_FAIL_INCREMENTAL_MODEL', '')) -%}
    {%- if victim and victim == model.name -%}
    select error('injected failure in incremental model {{ model.name }}');
    {%- endif -%}
{%- endmacro %}
