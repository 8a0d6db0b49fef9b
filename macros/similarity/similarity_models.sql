{#- The item-item similarity models (var similarity), written so that every model shares one pair
    aggregation: int_item_pairs sums, over a pair's common users, the product of the two
    entries' pair_weight, and item_similarity turns that symmetric sum S(a, b) into the score of
    each direction by one factor, (d_b / d_a) ^ directional_exponent, where d is an item's
    number of (kept) users. Derivations in docs/design.md, "Item similarity".

    - cosine: pair_weight = n(u,i) / ||n(., i)||, so S is the cosine; exponent 0.
    - rp3beta (Paudel et al. 2017) on the binary matrix: W(a -> b) = sum over common users of
      |u|^-alpha, times d_a^-alpha * d_b^-beta. pair_weight = |u|^(-alpha / 2) * d_i^(-(alpha +
      beta) / 2), exponent (alpha - beta) / 2.
    - asymmetric_cosine (Aiolli 2013) on the binary matrix: common_users / (d_a^alpha *
      d_b^(1 - alpha)). pair_weight = d_i^(-1/2), exponent alpha - 1/2 (alpha 1/2 is the binary
      cosine).
    |u| is the user's number of kept items. var similarity is one of the three: validate_vars
    checks it before any model runs. -#}

{#- The factor of one user-item entry whose products int_item_pairs sums over common users.
    Arguments are SQL expressions of the entry's unit-column score, the user's kept items and
    the item's users. -#}
{% macro pair_weight(unit_column_score, user_items, item_users) -%}
    {%- set model = var('similarity') -%}
    {%- if model == 'cosine' -%}
        {{ unit_column_score }}
    {%- elif model == 'rp3beta' -%}
        {%- set alpha = var('rp3beta_alpha') | float -%}
        {%- set beta = var('rp3beta_beta') | float -%}
        power(cast({{ user_items }} as double), {{ -alpha / 2 }})
            * power(cast({{ item_users }} as double), {{ -(alpha + beta) / 2 }})
    {%- else -%}
        power(cast({{ item_users }} as double), -0.5)
    {%- endif -%}
{%- endmacro %}


{#- The exponent g of the directional factor (d_target / d_source) ^ g; 0 for a symmetric model. -#}
{% macro similarity_directional_exponent() -%}
    {%- set model = var('similarity') -%}
    {%- if model == 'rp3beta' -%}
        {{ return((var('rp3beta_alpha') | float - var('rp3beta_beta') | float) / 2) }}
    {%- elif model == 'asymmetric_cosine' -%}
        {{ return(var('asymmetric_cosine_alpha') | float - 0.5) }}
    {%- endif -%}
    {{ return(0.0) }}
{%- endmacro %}


{#- Whether scores of the model lie in (0, 1]: the cosines do; rp3beta does when alpha + beta >= 1
    (common_users <= min(d_a, d_b) <= d_a^alpha * d_b^beta, and |u|^-alpha <= 1). -#}
{% macro similarity_is_bounded_by_one() -%}
    {%- if var('similarity') == 'rp3beta' -%}
        {{ return(var('rp3beta_alpha') | float + var('rp3beta_beta') | float >= 1) }}
    {%- endif -%}
    {{ return(true) }}
{%- endmacro %}
