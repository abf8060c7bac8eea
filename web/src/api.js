// The relay's REST API and the session: tokens live in sessionStorage (gone with the tab)
// and the access token is refreshed a minute before it expires.

const KEY = 'minuta.session'
const REFRESH_MARGIN_S = 60

export class ApiError extends Error {
  constructor (status, message) {
    super(message)
    this.status = status
  }
}

/** The claims of a JWT (not verified: the relay does that; we only read exp and role). */
export function claimsOf (token) {
  const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')
  return JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), '=')))
}

export class Session extends EventTarget {
  constructor () {
    super()
    this.tokens = null
    this._timer = null
    const saved = sessionStorage.getItem(KEY)
    if (saved) this._set(JSON.parse(saved))
  }

  get signedIn () { return this.tokens !== null }
  get accessToken () { return this.tokens?.access_token ?? null }
  /** {username, org_id, role} of the signed-in user. */
  get user () {
    if (!this.tokens) return null
    const c = claimsOf(this.tokens.access_token)
    return { username: c.sub ?? c.username, org_id: c.org_id ?? c.org, role: c.role }
  }

  get canEdit () { return this.user?.role !== 'viewer' }

  async login (username, password) {
    this._set(await this._post('/auth/login', { username, password }))
  }

  /** A new token pair; on failure the session ends ("signed-out" is dispatched). */
  async refresh () {
    if (!this.tokens) return false
    try {
      this._set(await this._post('/auth/refresh', { refresh_token: this.tokens.refresh_token }))
      return true
    } catch (err) {
      if (err.status === 401) this.logout('expired')
      return false
    }
  }

  /** End the session once: a failed refresh and its caller may both ask for it. */
  logout (reason = 'user') {
    if (!this.signedIn) return
    clearTimeout(this._timer)
    this.tokens = null
    sessionStorage.removeItem(KEY)
    this.dispatchEvent(new CustomEvent('signed-out', { detail: reason }))
  }

  /** A REST call with the access token; JSON in and out (or the Response, with raw). */
  async request (method, path, { body, raw = false } = {}) {
    const send = () => fetch(path, {
      method,
      headers: {
        Authorization: `Bearer ${this.accessToken}`,
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' })
      },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
    let response = await send()
    if (response.status === 401 && await this.refresh()) response = await send()
    if (response.status === 401) this.logout('expired')
    if (!response.ok) throw new ApiError(response.status, await errorText(response))
    if (raw) return response
    return response.status === 204 ? null : response.json()
  }

  async _post (path, body) {
    let response
    try {
      response = await fetch(path, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body)
      })
    } catch {
      throw new ApiError(0, 'network')
    }
    if (!response.ok) throw new ApiError(response.status, await errorText(response))
    return response.json()
  }

  _set (tokens) {
    this.tokens = tokens
    sessionStorage.setItem(KEY, JSON.stringify(tokens))
    clearTimeout(this._timer)
    const exp = claimsOf(tokens.access_token).exp
    const inMs = Math.max(5, exp - Date.now() / 1000 - REFRESH_MARGIN_S) * 1000
    this._timer = setTimeout(() => this.refresh(), inMs)
    this.dispatchEvent(new CustomEvent('tokens', { detail: tokens }))
  }
}

async function errorText (response) {
  try {
    return (await response.json()).error ?? response.statusText
  } catch {
    return response.statusText
  }
}
