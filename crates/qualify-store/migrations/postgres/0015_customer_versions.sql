-- Every change to a customer's vetting requests bumps the customer's vetting_version in the same
-- transaction, whichever statement makes it: a PostgreSQL node keeps customers' histories with
-- their version and reads a customer's requests again only when the version moved
-- (read_cache/versioned.rs), so the version must never miss a change. A trigger holds that for
-- every statement, today's and tomorrow's, without a round trip of its own.
CREATE FUNCTION customers_vetting_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE customers SET vetting_version = vetting_version + 1 WHERE id = OLD.customer_id;
    END IF;
    IF TG_OP <> 'DELETE' AND (TG_OP = 'INSERT' OR NEW.customer_id <> OLD.customer_id) THEN
        UPDATE customers SET vetting_version = vetting_version + 1 WHERE id = NEW.customer_id;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER vetting_requests_bump_customer
    AFTER INSERT OR UPDATE OR DELETE ON vetting_requests
    FOR EACH ROW EXECUTE FUNCTION customers_vetting_changed();
