{#- Every var of the project checked once, at the start of a run, before any table is replaced:
    an error names the var, its value and what is allowed. Without this a typo slips through:
    `half_life_days: "abc"` would turn decay off, `top_k: -1` would keep every pair. -#}

{% macro validate_vars() -%}
    {%- set problems = [] -%}
    {#- a var given on the command line that the project does not declare is a typo (top_kk):
        dbt would ignore it and build with the default of the var meant -#}
    {%- set given = invocation_args_dict.get('vars') or {} -%}
    {%- set given = fromyaml(given) if given is string else given -%}
    {#- in a team's own project (sqlrec a package) its own vars are not ours to judge -#}
    {%- for name in given if name not in sqlrec.declared_vars() and project_name == 'sqlrec' -%}
        {%- do problems.append('unknown var ' ~ name ~ sqlrec.closest_var(name)) -%}
    {%- endfor -%}
    {#- (var, kind, minimum, maximum) for the numeric knobs; none = unbounded -#}
    {%- set numbers = [
        ('half_life_days', 'number', 0, none),
        ('max_items_per_user', 'integer', 0, none),
        ('min_common_users', 'integer', 1, none),
        ('top_k', 'integer', 1, none),
        ('similar_items_k', 'integer', 1, none),
        ('rp3beta_alpha', 'number', 0, none),
        ('rp3beta_beta', 'number', 0, none),
        ('asymmetric_cosine_alpha', 'number', 0, 1),
        ('recent_items_per_user', 'integer', 1, none),
        ('next_items_window', 'integer', 1, none),
        ('popular_items_k', 'integer', 0, none),
        ('blend_als_weight', 'number', 0, none),
        ('blend_similarity_weight', 'number', 0, none),
        ('blend_ease_weight', 'number', 0, none),
        ('pair_rows_per_chunk', 'integer', 1, none),
        ('candidate_rows_per_chunk', 'integer', 1, none),
        ('future_tolerance_hours', 'number', 0, none),
        ('max_id_length', 'integer', 1, none),
        ('max_rejected_share', 'number', 0, 1),
        ('freshness_warn_after_hours', 'integer', 1, none),
        ('freshness_error_after_hours', 'integer', 1, none),
        ('lookback_hours', 'integer', 0, none),
    ] -%}
    {#- the fixed chunk counts: null (from the data) or an integer -#}
    {%- for name in ['pair_chunks', 'recommendation_chunks'] -%}
        {%- set parsed = sqlrec.parse_number(var(name), 'integer') -%}
        {%- if var(name) is not none and (parsed is none or parsed < 1 or parsed > 4096) -%}
            {%- do problems.append(name ~ ' is ' ~ tojson(var(name))
                ~ '; it must be null (from the data) or an integer from 1 to 4096') -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for name, kind, minimum, maximum in numbers -%}
        {%- set value = var(name) -%}
        {%- set parsed = sqlrec.parse_number(value, kind) -%}
        {%- set allowed = ('an integer' if kind == 'integer' else 'a number')
            ~ (' >= ' ~ minimum if maximum is none else ' from ' ~ minimum ~ ' to ' ~ maximum) -%}
        {%- if parsed is none or parsed < minimum or (maximum is not none and parsed > maximum) -%}
            {%- do problems.append(name ~ ' is ' ~ tojson(value) ~ '; it must be ' ~ allowed) -%}
        {%- endif -%}
    {%- endfor -%}

    {%- for name in ['events_path', 'catalog_path', 'lake_catalog', 'lake_schema'] -%}
        {%- if var(name) is not string or var(name) | trim == '' -%}
            {%- do problems.append(name ~ ' is ' ~ tojson(var(name)) ~ '; it must be a non-empty text') -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for name in ['events_location', 'catalog_location'] -%}
        {%- if var(name) is not none and (var(name) is not string or var(name) | trim == '') -%}
            {%- do problems.append(name ~ ' is ' ~ tojson(var(name)) ~ '; it must be null or a folder (text)') -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for name in ['events_relation', 'catalog_relation'] -%}
        {%- if var(name) is not none and (var(name) is not string or var(name) | trim == '') -%}
            {%- do problems.append(name ~ ' is ' ~ tojson(var(name)) ~ '; it must be null (the lake) or '
                ~ 'a relation such as "{{ ref(\'my_events\') }}"') -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for name in ['lake_has_catalog', 'register_lake_tables', 'ranker'] -%}
        {%- if var(name) is not sameas true and var(name) is not sameas false -%}
            {%- do problems.append(name ~ ' is ' ~ tojson(var(name)) ~ '; it must be true or false') -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for name in ['lake_events_columns', 'lake_catalog_columns'] -%}
        {%- set columns = var(name) -%}
        {%- if columns is not mapping or columns | length == 0 -%}
            {%- do problems.append(name ~ ' is ' ~ tojson(columns) ~ '; it must map column names to Trino types') -%}
        {%- else -%}
            {%- for column, type in columns.items() -%}
                {%- if not modules.re.fullmatch('[A-Za-z_][A-Za-z0-9_]*', column | string)
                    or not modules.re.fullmatch('[a-z][a-z0-9_]*( ?\([0-9, ]+\))?', type | string | lower) -%}
                    {%- do problems.append(name ~ ' has ' ~ tojson(column) ~ ': ' ~ tojson(type)
                        ~ '; columns must be plain names and types plain Trino types (varchar, timestamp(6), ...)') -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endfor -%}

    {%- if var('similarity') not in ('cosine', 'rp3beta', 'asymmetric_cosine') -%}
        {%- do problems.append('similarity is ' ~ tojson(var('similarity'))
            ~ '; it must be cosine, rp3beta or asymmetric_cosine') -%}
    {%- endif -%}

    {%- if not sqlrec.parses_as_timestamp(var('min_event_time')) -%}
        {%- do problems.append('min_event_time is ' ~ tojson(var('min_event_time'))
            ~ '; it must be a timestamp such as "2000-01-01 00:00:00"') -%}
    {%- endif -%}
    {%- set as_of = var('as_of') -%}
    {%- if as_of is not none and not sqlrec.parses_as_timestamp(as_of) -%}
        {%- do problems.append('as_of is ' ~ tojson(as_of) ~ '; it must be null (the latest valid '
            ~ 'event) or a timestamp such as "2026-10-31 00:00:00"') -%}
    {%- endif -%}
    {%- if sqlrec.parse_number(var('freshness_warn_after_hours'), 'integer') is not none
        and sqlrec.parse_number(var('freshness_error_after_hours'), 'integer') is not none
        and sqlrec.parse_number(var('freshness_warn_after_hours'), 'integer')
            > sqlrec.parse_number(var('freshness_error_after_hours'), 'integer') -%}
        {%- do problems.append('freshness_warn_after_hours must not exceed freshness_error_after_hours') -%}
    {%- endif -%}

    {%- if problems -%}
        {{ exceptions.raise_compiler_error(
            'sqlrec: invalid dbt vars (nothing was built):\n  - ' ~ problems | join('\n  - ')
            ~ '\nThe vars and their meaning are listed in dbt_project.yml.'
        ) }}
    {%- endif -%}
{%- endmacro %}


{#- The vars dbt_project.yml declares (`vars:`), in its order. A hook cannot read the project's
    own vars apart from the command line's, hence this list; a test passes every declared var to
    `dbt build` and expects none of them refused. -#}
{% macro declared_vars() -%}
    {{ return([
        'events_path', 'catalog_path', 'events_relation', 'catalog_relation', 'lookback_hours',
        'future_tolerance_hours', 'min_event_time', 'max_id_length',
        'max_rejected_share', 'freshness_warn_after_hours', 'freshness_error_after_hours',
        'half_life_days', 'max_items_per_user', 'min_common_users', 'similarity', 'rp3beta_alpha',
        'rp3beta_beta', 'asymmetric_cosine_alpha', 'similar_items_k', 'top_k', 'as_of',
        'recent_items_per_user', 'popular_items_k', 'blend_similarity_weight', 'blend_als_weight',
        'blend_ease_weight', 'ranker', 'next_items_window', 'pair_rows_per_chunk', 'candidate_rows_per_chunk', 'pair_chunks',
        'recommendation_chunks', 'lake_catalog', 'lake_schema', 'events_location',
        'catalog_location', 'lake_has_catalog', 'register_lake_tables', 'lake_events_columns',
        'lake_catalog_columns', 'item_id'
    ]) }}
{%- endmacro %}


{#- " (did you mean <the declared var nearest to name>?)" when one is within a few edits of it
    (a third of its length), else "". -#}
{% macro closest_var(name) -%}
    {%- set ns = namespace(best=none, distance=(name | length) // 3 + 1) -%}
    {%- for candidate in sqlrec.declared_vars() -%}
        {%- set distance = sqlrec.edit_distance(name, candidate) -%}
        {%- if distance < ns.distance -%}
            {%- set ns.best, ns.distance = candidate, distance -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(' (did you mean ' ~ ns.best ~ '?)' if ns.best is not none else '') }}
{%- endmacro %}


{#- Levenshtein distance: the fewest insertions, deletions and substitutions from a to b. -#}
{% macro edit_distance(a, b) -%}
    {%- set ns = namespace(previous=range(b | length + 1) | list, current=[]) -%}
    {%- for i in range(a | length) -%}
        {%- set ns.current = [i + 1] -%}
        {%- for j in range(b | length) -%}
            {%- do ns.current.append([ns.previous[j + 1] + 1, ns.current[j] + 1,
                                       ns.previous[j] + (0 if a[i] == b[j] else 1)] | min) -%}
        {%- endfor -%}
        {%- set ns.previous = ns.current -%}
    {%- endfor -%}
    {{ return(ns.previous[-1]) }}
{%- endmacro %}


{#- A var's value as a number of `kind` ('integer' or 'number'), or none when it is not one.
    Text that spells a number counts (vars often come from the command line as text); true and
    false do not. -#}
{% macro parse_number(value, kind) -%}
    {%- if value is sameas true or value is sameas false or value is none -%}
        {{ return(none) }}
    {%- elif value is number -%}
        {%- set number = value -%}
    {%- elif value is string and modules.re.fullmatch('\s*[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?\s*', value) -%}
        {%- set number = value | float -%}
    {%- else -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if kind == 'integer' -%}
        {{ return(number | int if number == number | int else none) }}
    {%- endif -%}
    {{ return(number) }}
{%- endmacro %}


{#- Whether a var's value is a timestamp in ISO form ("2026-10-31", "2026-10-31 00:00:00",
    "2026-10-31T00:00:00.5"). -#}
{% macro parses_as_timestamp(value) -%}
    {%- if value is not string -%}{{ return(false) }}{%- endif -%}
    {%- if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?)?', value | trim) -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set date = (value | trim)[:10].split('-') -%}
    {%- set month, day = date[1] | int, date[2] | int -%}
    {{ return(month >= 1 and month <= 12 and day >= 1 and day <= 31) }}
{%- endmacro %}
