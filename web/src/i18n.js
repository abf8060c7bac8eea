// UI strings in English and Spanish. `t('key', {n: 3})` fills {n}; elements with
// data-i18n="key" (text) or data-i18n-label="key" (aria-label and title) are filled by
// applyStrings(). The choice is kept in localStorage; the default follows the browser.

const STRINGS = {
  en: {
    app: 'Minuta',
    skip: 'Skip to the transcript',
    language: 'Language',
    username: 'Username',
    password: 'Password',
    signIn: 'Sign in',
    signOut: 'Sign out',
    signInTitle: 'Sign in to Minuta',
    wrongLogin: 'Wrong username or password.',
    sessionEnded: 'Your session ended. Please sign in again.',
    networkError: 'The relay cannot be reached. Check your connection and try again.',
    transcripts: 'Transcripts',
    searchTitles: 'Filter by title',
    searchText: 'Search the text of every transcript',
    allTranscripts: 'All transcripts',
    dateFrom: 'From',
    dateTo: 'To',
    searching: 'Searching…',
    hitsShown: '{n} results shown',
    noHits: 'Nothing was said like that.',
    moreHits: 'More results',
    searchFailed: 'The search failed. Check your connection and try again.',
    live: 'Live',
    ended: 'Ended',
    noTranscripts: 'No transcripts yet.',
    noMatches: 'No transcript matches.',
    loadMore: 'Load more',
    segmentsN: '{n} segments',
    untitled: 'Untitled',
    back: 'All transcripts',
    statusLive: 'Live',
    statusConnecting: 'Connecting…',
    statusReconnecting: 'Reconnecting…',
    statusOffline: 'Offline',
    offlineHint: 'Your edits are kept and sent when the connection is back.',
    statusClosed: 'Not connected',
    saved: 'All changes saved',
    saving: 'Saving…',
    unsaved: 'Unsaved changes',
    readOnly: 'Read only',
    noAccess: 'You do not have access to this transcript.',
    notFound: 'This transcript does not exist.',
    rejected: 'The relay closed the connection: {reason}',
    retry: 'Try again',
    here: 'Here now',
    speaker: 'Speaker',
    allSpeakers: 'All speakers',
    minConf: 'Minimum confidence',
    keyword: 'Keyword (/)',
    shownOf: '{shown} of {total} segments',
    partial: 'in progress',
    editedBy: 'edited by {user}',
    copyTime: 'Copy the timestamp {time}',
    copied: 'Copied {time}',
    recording: 'Recording',
    play: 'Play',
    pause: 'Pause',
    seek: 'Position in the recording',
    speed: 'Speed',
    playHint: 'Click a time to play from there; Alt+click a word.',
    playFrom: 'Play from {time}',
    playFromHint: 'Play from here (Shift+click copies the time)',
    audioFailed: 'Could not play the recording: {reason}',
    audioUnplayable: 'this browser cannot play it',
    renameSpeaker: 'Rename speaker {name}',
    renameTo: 'New name for {name}',
    segmentText: 'Segment at {time}, {speaker}',
    unknownSpeaker: 'Unknown speaker',
    summary: 'Summary',
    noSummary: 'No summary yet: it is written as the meeting goes on.',
    risks: 'Risks / dependencies',
    topics: 'Topics',
    regenerate: 'Regenerate',
    regenerating: 'Regenerating…',
    regenerateFailed: 'Could not regenerate: {reason}',
    actions: 'Actions',
    noActions: 'No actions yet.',
    action: 'Action',
    owner: 'Owner',
    due: 'Due',
    status: 'Status',
    open: 'Open',
    done: 'Done',
    dismissed: 'Dismissed',
    evidence: 'Go to the segment',
    stale: 'its evidence changed',
    addAction: 'Add action',
    newAction: 'New action',
    export: 'Export',
    print: 'Print / PDF',
    exportFailed: 'Export failed: {reason}',
    sendTo: 'Send to…',
    sendingTo: 'Sending to {name}…',
    sentTo: 'Sent to {name} ({count} items)',
    pushRetrying: 'Sending to {name}: retrying ({reason})',
    pushFailed: 'Could not send to {name}: {reason}',
    emptyTranscript: 'Waiting for the first words…',
    leaveUnsaved: 'Some edits are not saved on the relay yet.'
  },
  es: {
    app: 'Minuta',
    skip: 'Ir a la transcripción',
    language: 'Idioma',
    username: 'Usuario',
    password: 'Contraseña',
    signIn: 'Entrar',
    signOut: 'Salir',
    signInTitle: 'Entrar en Minuta',
    wrongLogin: 'Usuario o contraseña incorrectos.',
    sessionEnded: 'Tu sesión ha terminado. Vuelve a entrar.',
    networkError: 'No se puede contactar con el relay. Comprueba la conexión e inténtalo de nuevo.',
    transcripts: 'Transcripciones',
    searchTitles: 'Filtrar por título',
    searchText: 'Buscar en el texto de todas las transcripciones',
    allTranscripts: 'Todas las transcripciones',
    dateFrom: 'Desde',
    dateTo: 'Hasta',
    searching: 'Buscando…',
    hitsShown: '{n} resultados',
    noHits: 'No se dijo nada así.',
    moreHits: 'Más resultados',
    searchFailed: 'La búsqueda falló. Comprueba la conexión e inténtalo de nuevo.',
    live: 'En directo',
    ended: 'Terminada',
    noTranscripts: 'Todavía no hay transcripciones.',
    noMatches: 'Ninguna transcripción coincide.',
    loadMore: 'Cargar más',
    segmentsN: '{n} segmentos',
    untitled: 'Sin título',
    back: 'Todas las transcripciones',
    statusLive: 'En directo',
    statusConnecting: 'Conectando…',
    statusReconnecting: 'Reconectando…',
    statusOffline: 'Sin conexión',
    offlineHint: 'Tus cambios se guardan y se enviarán al volver la conexión.',
    statusClosed: 'Desconectado',
    saved: 'Todo guardado',
    saving: 'Guardando…',
    unsaved: 'Cambios sin guardar',
    readOnly: 'Solo lectura',
    noAccess: 'No tienes acceso a esta transcripción.',
    notFound: 'Esta transcripción no existe.',
    rejected: 'El relay cerró la conexión: {reason}',
    retry: 'Reintentar',
    here: 'Aquí ahora',
    speaker: 'Hablante',
    allSpeakers: 'Todos los hablantes',
    minConf: 'Confianza mínima',
    keyword: 'Palabra clave (/)',
    shownOf: '{shown} de {total} segmentos',
    partial: 'en curso',
    editedBy: 'editado por {user}',
    copyTime: 'Copiar la marca de tiempo {time}',
    copied: 'Copiado {time}',
    recording: 'Grabación',
    play: 'Reproducir',
    pause: 'Pausa',
    seek: 'Posición en la grabación',
    speed: 'Velocidad',
    playHint: 'Pulsa una marca de tiempo para reproducir desde ahí; Alt+clic en una palabra.',
    playFrom: 'Reproducir desde {time}',
    playFromHint: 'Reproducir desde aquí (Mayús+clic copia la marca de tiempo)',
    audioFailed: 'No se pudo reproducir la grabación: {reason}',
    audioUnplayable: 'este navegador no puede reproducirla',
    renameSpeaker: 'Renombrar a {name}',
    renameTo: 'Nuevo nombre para {name}',
    segmentText: 'Segmento en {time}, {speaker}',
    unknownSpeaker: 'Hablante desconocido',
    summary: 'Resumen',
    noSummary: 'Aún no hay resumen: se escribe durante la reunión.',
    risks: 'Riesgos / dependencias',
    topics: 'Temas',
    regenerate: 'Regenerar',
    regenerating: 'Regenerando…',
    regenerateFailed: 'No se pudo regenerar: {reason}',
    actions: 'Acciones',
    noActions: 'Aún no hay acciones.',
    action: 'Acción',
    owner: 'Responsable',
    due: 'Fecha límite',
    status: 'Estado',
    open: 'Abierta',
    done: 'Hecha',
    dismissed: 'Descartada',
    evidence: 'Ir al segmento',
    stale: 'su evidencia cambió',
    addAction: 'Añadir acción',
    newAction: 'Nueva acción',
    export: 'Exportar',
    print: 'Imprimir / PDF',
    exportFailed: 'No se pudo exportar: {reason}',
    sendTo: 'Enviar a…',
    sendingTo: 'Enviando a {name}…',
    sentTo: 'Enviado a {name} ({count} elementos)',
    pushRetrying: 'Enviando a {name}: reintentando ({reason})',
    pushFailed: 'No se pudo enviar a {name}: {reason}',
    emptyTranscript: 'Esperando las primeras palabras…',
    leaveUnsaved: 'Algunos cambios aún no están guardados en el relay.'
  }
}

export const LANGUAGES = Object.keys(STRINGS)
const KEY = 'minuta.lang'

let lang = pickLanguage()

function pickLanguage () {
  const saved = globalThis.localStorage?.getItem(KEY)
  if (saved && STRINGS[saved]) return saved
  const browser = (globalThis.navigator?.language || 'en').slice(0, 2)
  return STRINGS[browser] ? browser : 'en'
}

export const getLanguage = () => lang

export function setLanguage (value) {
  if (!STRINGS[value]) return
  lang = value
  globalThis.localStorage?.setItem(KEY, value)
  document.documentElement.lang = value
}

/** The string `key` in the current language, with {name} placeholders filled from `vars`. */
export function t (key, vars = {}) {
  const text = STRINGS[lang][key] ?? STRINGS.en[key] ?? key
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ''))
}

/** Fill the data-i18n* attributes under `root`. */
export function applyStrings (root = document) {
  document.documentElement.lang = lang
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n)
  for (const el of root.querySelectorAll('[data-i18n-label]')) {
    el.setAttribute('aria-label', t(el.dataset.i18nLabel))
    el.title = t(el.dataset.i18nLabel)
  }
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) {
    el.placeholder = t(el.dataset.i18nPlaceholder)
  }
}
