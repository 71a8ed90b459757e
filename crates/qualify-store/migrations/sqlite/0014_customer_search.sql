-- Partner Center's customer search (`GET /v1/customers?filter=…`): a prefix of the company name,
-- the domain, or the indirect reseller's tenant id, in any case. Each is a range over an index
-- of the partner's customers ordered by that field, so a page costs a page of index, however
-- many customers the partner has.
--
-- The company name, folded to lower case by the application (Unicode-aware, the same on both
-- backends; SQLite's own lower() folds only ASCII). Rows written before this migration are
-- folded here, ASCII only: a non-ASCII capital in such a name is matched as written.
ALTER TABLE customers ADD COLUMN company_name_folded TEXT NOT NULL DEFAULT '';
UPDATE customers SET company_name_folded = lower(company_name);
CREATE INDEX customers_by_company_name ON customers (partner_tenant_id, company_name_folded, seq);

-- The indirect reseller a customer was created for (Partner Center's `associatedPartnerId`),
-- lower case; the domain needs no index of its own: (partner_tenant_id, domain) is unique.
ALTER TABLE customers ADD COLUMN associated_partner_id TEXT;
CREATE INDEX customers_by_associated_partner ON customers (partner_tenant_id, associated_partner_id, seq)
    WHERE associated_partner_id IS NOT NULL;
