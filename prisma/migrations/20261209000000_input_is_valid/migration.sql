-- input_is_valid(value, type): whether `value` would cast to `type` without an error, for checks that must name
-- a bad value instead of failing a whole statement. PostgreSQL 16 has pg_input_is_valid; on 15 (the oldest server
-- we support, the one a Debian machine brings) the same answer comes from trying the cast. The body is chosen when
-- the migration runs: a SQL function that calls pg_input_is_valid would not even be created on 15.
DO $migration$
BEGIN
  IF current_setting('server_version_num')::int >= 160000 THEN
    EXECUTE $f$
      CREATE FUNCTION input_is_valid(value text, type_name text) RETURNS boolean
      LANGUAGE sql STABLE STRICT PARALLEL SAFE
      AS 'SELECT pg_input_is_valid(value, type_name)'
    $f$;
  ELSE
    EXECUTE $f$
      CREATE FUNCTION input_is_valid(value text, type_name text) RETURNS boolean
      LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
      AS $body$
      BEGIN
        -- The type name is spliced into SQL: only a plain type with an optional (precision[, scale]) is taken.
        IF type_name !~ '^[a-z][a-z ]*(\([0-9]+(,[0-9]+)?\))?$' THEN
          RAISE EXCEPTION 'input_is_valid: % is not a plain type name', type_name USING ERRCODE = 'undefined_object';
        END IF;
        BEGIN
          EXECUTE format('SELECT %L::%s', value, type_name);
          RETURN true;
        EXCEPTION WHEN data_exception THEN
          RETURN false;
        END;
      END
      $body$
    $f$;
  END IF;
END
$migration$;
