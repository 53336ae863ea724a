/**
 * The product's order statuses, and the words other systems use for them. Exports spell a status their own
 * way ("Cancelled", "canceled", "VOIDED", "storniert", "annulée", "Reembolsado"): mapped onto these, revenue
 * leaves out what was never a sale (kpi_counts_as_sale) without a hand-written transform per file.
 * Words are compared after case folding, accent stripping and turning `-`, `_` and runs of spaces into one
 * space, so "On-Hold", "on_hold" and "ON HOLD" are one word. English, German, French, Spanish and Dutch.
 */
export const orderStatuses = ['pending', 'processing', 'on_hold', 'paid', 'shipped', 'completed', 'cancelled', 'refunded', 'failed'] as const;
export type OrderStatus = (typeof orderStatuses)[number];

const spellings: Record<OrderStatus, string[]> = {
  pending: ['pending', 'open', 'new', 'awaiting payment', 'unpaid', 'draft', 'offen', 'neu', 'ausstehend', 'zahlung ausstehend', 'en attente', 'nouveau', 'nouvelle', 'ouvert', 'ouverte', 'pendiente', 'nuevo', 'nueva', 'abierto', 'abierta', 'in afwachting', 'nieuw', 'openstaand', 'open staand'],
  processing: ['processing', 'in progress', 'in process', 'confirmed', 'accepted', 'in bearbeitung', 'bestatigt', 'en cours', 'en traitement', 'en preparation', 'confirme', 'confirmee', 'procesando', 'en proceso', 'en preparacion', 'confirmado', 'confirmada', 'in behandeling', 'bevestigd', 'in verwerking'],
  on_hold: ['on hold', 'hold', 'held', 'angehalten', 'zuruckgestellt', 'en suspens', 'suspendu', 'suspendue', 'en espera', 'retenido', 'retenida', 'in de wacht', 'geblokkeerd'],
  paid: ['paid', 'payment received', 'settled', 'bezahlt', 'beglichen', 'paye', 'payee', 'regle', 'reglee', 'pagado', 'pagada', 'betaald', 'voldaan'],
  shipped: ['shipped', 'dispatched', 'sent', 'in transit', 'versandt', 'versendet', 'verschickt', 'unterwegs', 'expedie', 'expediee', 'envoye', 'envoyee', 'en transit', 'enviado', 'enviada', 'en transito', 'verzonden', 'verstuurd', 'onderweg'],
  completed: ['completed', 'complete', 'fulfilled', 'delivered', 'closed', 'done', 'finished', 'success', 'successful', 'succeeded', 'abgeschlossen', 'erledigt', 'geliefert', 'zugestellt', 'fertig', 'termine', 'terminee', 'livre', 'livree', 'cloture', 'cloturee', 'completado', 'completada', 'entregado', 'entregada', 'cerrado', 'cerrada', 'finalizado', 'finalizada', 'voltooid', 'afgerond', 'geleverd', 'afgeleverd', 'gesloten'],
  cancelled: ['cancelled', 'canceled', 'cancel', 'void', 'voided', 'annulled', 'aborted', 'storniert', 'storno', 'annulliert', 'abgebrochen', 'abgesagt', 'annule', 'annulee', 'cancelado', 'cancelada', 'anulado', 'anulada', 'geannuleerd', 'geannulleerd', 'afgebroken', 'vervallen'],
  refunded: ['refunded', 'refund', 'returned', 'reversed', 'charged back', 'chargeback', 'erstattet', 'ruckerstattet', 'zuruckerstattet', 'zuruckgegeben', 'retourniert', 'rembourse', 'remboursee', 'retourne', 'retournee', 'reembolsado', 'reembolsada', 'devuelto', 'devuelta', 'terugbetaald', 'geretourneerd', 'gerestitueerd'],
  failed: ['failed', 'declined', 'rejected', 'error', 'expired', 'fehlgeschlagen', 'abgelehnt', 'abgelaufen', 'echoue', 'echouee', 'refuse', 'refusee', 'expire', 'expiree', 'fallido', 'fallida', 'rechazado', 'rechazada', 'caducado', 'caducada', 'mislukt', 'geweigerd', 'verlopen'],
};

/** Case-folded, accents stripped, separators as single spaces: the form statuses are compared in. */
export function statusWord(text: string): string {
  return text
    .normalize('NFD')
    .replace(/\p{Diacritic}/gu, '')
    .replace(/ß/g, 'ss')
    .toLowerCase()
    .replace(/[-_\s]+/g, ' ')
    .trim();
}

const canonicalByWord = new Map<string, OrderStatus>();
for (const status of orderStatuses) {
  canonicalByWord.set(statusWord(status), status);
  for (const spelling of spellings[status]) canonicalByWord.set(statusWord(spelling), status);
}

/**
 * The product's status for `text`, or null when the word is not one we know (the caller keeps it as written:
 * an unknown status still counts as a sale, as it always has). "Partially refunded" is not refunded: part of
 * the sale stands.
 */
export function normaliseOrderStatus(text: string): OrderStatus | null {
  return canonicalByWord.get(statusWord(text)) ?? null;
}
