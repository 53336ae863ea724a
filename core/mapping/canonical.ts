import type { ValueKind } from './sniff.js';

/** A column of a canonical table: the names people give it in exports, and what its values look like. */
export interface CanonicalColumn {
  name: string;
  synonyms: string[];
  kinds: ValueKind[];
}

/**
 * The canonical tables uploaded files are mapped onto. Synonyms are normalised header keys (lower case,
 * underscores) in the languages our customers' exports come in.
 */
export const canonicalTables: Record<string, CanonicalColumn[]> = {
  customers: [
    { name: 'customer_ref', synonyms: ['customer_id', 'customer_number', 'customer_no', 'client_id', 'kundennummer', 'kunden_nr', 'id_cliente', 'numero_client', 'account_number', 'cust_id'], kinds: ['identifier', 'integer'] },
    { name: 'name', synonyms: ['customer_name', 'client_name', 'full_name', 'name', 'kunde', 'kundenname', 'nombre', 'nom', 'company_name', 'account_name'], kinds: ['text'] },
    { name: 'email', synonyms: ['email', 'e_mail', 'email_address', 'mail', 'correo', 'courriel'], kinds: ['email'] },
    { name: 'phone', synonyms: ['phone', 'telephone', 'phone_number', 'tel', 'telefon', 'telefono', 'mobile'], kinds: ['phone', 'identifier'] },
    { name: 'city', synonyms: ['city', 'town', 'stadt', 'ort', 'ciudad', 'ville'], kinds: ['text', 'category'] },
    { name: 'country', synonyms: ['country', 'land', 'pais', 'pays', 'country_code'], kinds: ['category', 'text'] },
    { name: 'created_at', synonyms: ['created', 'created_at', 'signup_date', 'customer_since', 'registered', 'erstellt'], kinds: ['date'] },
  ],
  orders: [
    { name: 'order_ref', synonyms: ['order_id', 'order_number', 'order_no', 'order', 'bestellnummer', 'auftragsnummer', 'numero_pedido', 'pedido', 'commande', 'so_number', 'name'], kinds: ['identifier', 'integer'] },
    { name: 'customer_ref', synonyms: ['customer_id', 'customer_number', 'client_id', 'kundennummer', 'id_cliente', 'customer'], kinds: ['identifier', 'integer', 'email'] },
    { name: 'order_date', synonyms: ['order_date', 'date', 'created_at', 'ordered_at', 'bestelldatum', 'datum', 'fecha', 'fecha_pedido', 'date_commande', 'processed_at'], kinds: ['date'] },
    { name: 'status', synonyms: ['status', 'order_status', 'state', 'fulfillment_status', 'financial_status', 'estado', 'statut'], kinds: ['category', 'text'] },
    { name: 'total_amount', synonyms: ['total', 'order_total', 'total_amount', 'amount', 'grand_total', 'gesamtbetrag', 'summe', 'importe', 'importe_total', 'montant', 'total_price'], kinds: ['money', 'decimal', 'integer'] },
    { name: 'currency', synonyms: ['currency', 'waehrung', 'wahrung', 'moneda', 'devise', 'currency_code'], kinds: ['category'] },
    { name: 'manager_ref', synonyms: ['manager', 'manager_id', 'sales_rep', 'salesperson', 'account_manager', 'owner', 'vertriebler'], kinds: ['identifier', 'text', 'category'] },
  ],
  order_items: [
    { name: 'order_ref', synonyms: ['order_id', 'order_number', 'order_no', 'bestellnummer', 'pedido'], kinds: ['identifier', 'integer'] },
    { name: 'product_ref', synonyms: ['sku', 'product_id', 'item_code', 'artikelnummer', 'articulo', 'product_code', 'lineitem_sku', 'material'], kinds: ['identifier', 'integer', 'text'] },
    { name: 'quantity', synonyms: ['quantity', 'qty', 'menge', 'anzahl', 'cantidad', 'quantite', 'lineitem_quantity', 'units'], kinds: ['integer', 'decimal'] },
    { name: 'unit_price', synonyms: ['unit_price', 'price', 'preis', 'einzelpreis', 'precio', 'prix', 'lineitem_price', 'price_each'], kinds: ['money', 'decimal', 'integer'] },
    { name: 'line_total', synonyms: ['line_total', 'total', 'subtotal', 'betrag', 'importe', 'montant', 'extended_price'], kinds: ['money', 'decimal', 'integer'] },
  ],
  invoices: [
    { name: 'invoice_ref', synonyms: ['invoice_number', 'invoice_no', 'invoice_id', 'invoice', 'rechnungsnummer', 'factura', 'numero_factura', 'facture', 'num'], kinds: ['identifier', 'integer'] },
    { name: 'customer_ref', synonyms: ['customer_id', 'customer', 'client', 'kundennummer', 'cliente', 'customer_number'], kinds: ['identifier', 'integer', 'text'] },
    { name: 'invoice_date', synonyms: ['invoice_date', 'date', 'rechnungsdatum', 'fecha', 'fecha_factura', 'date_facture', 'txn_date'], kinds: ['date'] },
    { name: 'due_date', synonyms: ['due_date', 'due', 'faellig_am', 'faelligkeit', 'vencimiento', 'echeance'], kinds: ['date'] },
    { name: 'amount', synonyms: ['amount', 'total', 'invoice_total', 'betrag', 'rechnungsbetrag', 'importe', 'montant', 'total_amount'], kinds: ['money', 'decimal', 'integer'] },
    { name: 'paid', synonyms: ['paid', 'is_paid', 'status', 'bezahlt', 'pagado', 'payee'], kinds: ['boolean', 'category'] },
  ],
  products: [
    { name: 'product_ref', synonyms: ['sku', 'product_id', 'item_code', 'artikelnummer', 'codigo', 'reference', 'variant_sku', 'item_number'], kinds: ['identifier', 'integer'] },
    { name: 'name', synonyms: ['name', 'product_name', 'title', 'item_name', 'bezeichnung', 'artikelname', 'nombre', 'descripcion', 'designation', 'description'], kinds: ['text'] },
    { name: 'category', synonyms: ['category', 'product_type', 'type', 'kategorie', 'warengruppe', 'categoria', 'famille', 'group'], kinds: ['category', 'text'] },
    { name: 'price', synonyms: ['price', 'unit_price', 'selling_price', 'retail_price', 'preis', 'verkaufspreis', 'precio', 'prix', 'variant_price'], kinds: ['money', 'decimal', 'integer'] },
    { name: 'cost', synonyms: ['cost', 'unit_cost', 'cost_price', 'einkaufspreis', 'ek_preis', 'costo', 'cout', 'cost_per_item'], kinds: ['money', 'decimal', 'integer'] },
  ],
  suppliers: [
    { name: 'supplier_ref', synonyms: ['supplier_id', 'vendor_id', 'supplier_number', 'lieferantennummer', 'proveedor_id', 'vendor_number'], kinds: ['identifier', 'integer'] },
    { name: 'name', synonyms: ['supplier', 'supplier_name', 'vendor', 'vendor_name', 'lieferant', 'proveedor', 'fournisseur'], kinds: ['text'] },
    { name: 'email', synonyms: ['email', 'contact_email', 'e_mail'], kinds: ['email'] },
    { name: 'phone', synonyms: ['phone', 'telephone', 'telefon', 'telefono'], kinds: ['phone', 'identifier'] },
  ],
  payments: [
    { name: 'payment_ref', synonyms: ['payment_id', 'transaction_id', 'payment_number', 'zahlungs_id', 'pago_id', 'reference'], kinds: ['identifier', 'integer'] },
    { name: 'invoice_ref', synonyms: ['invoice_number', 'invoice_id', 'invoice', 'rechnungsnummer', 'factura'], kinds: ['identifier', 'integer'] },
    { name: 'paid_at', synonyms: ['payment_date', 'paid_at', 'date', 'zahlungsdatum', 'fecha_pago', 'date_paiement'], kinds: ['date'] },
    { name: 'amount', synonyms: ['amount', 'payment_amount', 'betrag', 'importe', 'montant', 'paid_amount'], kinds: ['money', 'decimal', 'integer'] },
    { name: 'method', synonyms: ['method', 'payment_method', 'zahlungsart', 'metodo_pago', 'mode_paiement', 'gateway'], kinds: ['category', 'text'] },
  ],
  inventory_levels: [
    { name: 'product_ref', synonyms: ['sku', 'product_id', 'item_code', 'artikelnummer', 'codigo'], kinds: ['identifier', 'integer', 'text'] },
    { name: 'location', synonyms: ['location', 'warehouse', 'store', 'lager', 'lagerort', 'almacen', 'entrepot'], kinds: ['category', 'text'] },
    { name: 'on_hand', synonyms: ['on_hand', 'stock', 'quantity_on_hand', 'qty_on_hand', 'bestand', 'existencias', 'stock_level', 'available'], kinds: ['integer', 'decimal'] },
    { name: 'counted_at', synonyms: ['date', 'counted_at', 'as_of', 'stichtag', 'fecha', 'snapshot_date'], kinds: ['date'] },
  ],
};

/**
 * Each canonical table's natural key after business_id, in the order of its UNIQUE constraint
 * canonical_<table>_natural_key: a mapping must fill it and the loader upserts on it. Optional key columns
 * may be empty in a row: a stock count without a location is the business's one stock room, and one
 * without a day is counted the day it is loaded. test/integration/mapping-catalog.test.ts holds these to
 * the database's constraints.
 */
export const naturalKeys: Record<string, { columns: readonly string[]; optional?: readonly string[] }> = {
  customers: { columns: ['customer_ref'] },
  orders: { columns: ['order_ref'] },
  order_items: { columns: ['order_ref', 'product_ref'] },
  invoices: { columns: ['invoice_ref'] },
  products: { columns: ['product_ref'] },
  suppliers: { columns: ['supplier_ref'] },
  payments: { columns: ['payment_ref'] },
  inventory_levels: { columns: ['product_ref', 'location', 'counted_at'], optional: ['location', 'counted_at'] },
};

/** The natural-key columns a row must fill itself: a mapping has to map them, and a row leaving one empty is rejected. */
export function requiredKeyColumns(table: string): readonly string[] {
  const key = naturalKeys[table];
  return key ? key.columns.filter((column) => !key.optional?.includes(column)) : [];
}

/** How PostgreSQL stores a canonical column. */
export type ColumnType = { kind: 'text' } | { kind: 'date' } | { kind: 'boolean' } | { kind: 'numeric'; precision: number; scale: number };

/**
 * The type a canonical column is stored as, from its first (most telling) value kind, as the migrations
 * declare it: dates `date`, money numeric(18,2), quantities numeric(18,4), flags boolean, everything else
 * text (test/integration/mapping-catalog.test.ts holds the two together).
 */
export function storedTypeOf(column: CanonicalColumn): ColumnType {
  switch (column.kinds[0]) {
    case 'date':
      return { kind: 'date' };
    case 'money':
      return { kind: 'numeric', precision: 18, scale: 2 };
    case 'integer':
    case 'decimal':
      return { kind: 'numeric', precision: 18, scale: 4 };
    case 'boolean':
      return { kind: 'boolean' };
    default:
      return { kind: 'text' };
  }
}
