-- Partner Center's customer search (`GET /v1/customers?filter=…`): a prefix of the company name,
-- the domain, or the indirect reseller's tenant id, in any case. Each is a range over an index
-- of the partner's customers ordered by that field, so a page costs a page of index, however
-- many customers the partner has. The ranges compare in code-point order (COLLATE "C"), where
-- "starts with p" is exactly "from p up to p followed by the last code point", whatever the
-- database's own collation.
--
-- The company name, folded to lower case by the application (the same folding on both backends).
ALTER TABLE customers ADD COLUMN company_name_folded TEXT NOT NULL DEFAULT '';
UPDATE customers SET company_name_folded = lower(company_name);
CREATE INDEX customers_by_company_name ON customers (partner_tenant_id, company_name_folded COLLATE "C", seq);
CREATE INDEX customers_by_domain_prefix ON customers (partner_tenant_id, domain COLLATE "C", seq);

-- The indirect reseller a customer was created for (Partner Center's `associatedPartnerId`),
-- lower case.
ALTER TABLE customers ADD COLUMN associated_partner_id TEXT;
CREATE INDEX customers_by_associated_partner ON customers (partner_tenant_id, associated_partner_id COLLATE "C", seq)
    WHERE associated_partner_id IS NOT NULL;
