// The recording's player, on the transcript page when the doc's meta says the audio was
// uploaded (meta.upload_audio). The relay wants the access token in a header, which an
// <audio src> cannot send: the file is fetched once, on first use (most people read and
// never listen), and played from a blob: URL, revoked on teardown.
import { clock } from './transcript.js'
import { t } from './i18n.js'

export const SPEEDS = [0.75, 1, 1.25, 1.5, 2]
const SPEED_KEY = 'minuta.speed'

export class Player {
  /**
   * @param {HTMLElement} box the #player element of the template
   * @param {{load: () => Promise<Blob>, toast: (text: string) => void,
   *          onTime: (t: number, playing: boolean) => void}} hooks
   */
  constructor (box, hooks) {
    this.box = box
    this.hooks = hooks
    this.enabled = false
    this.audio = document.createElement('audio')
    this.audio.preload = 'auto'
    box.append(this.audio)
    box.setAttribute('aria-label', t('recording'))
    this.url = null
    this._loading = null
    this._frame = 0
    this._shownSecond = -1
    this._destroyed = false
    this.button = box.querySelector('.play')
    this.time = box.querySelector('.play-time')
    this.seek = box.querySelector('.play-seek')
    this.speed = box.querySelector('.play-speed')
    this.speed.replaceChildren(...SPEEDS.map((s) => new Option(`${s}×`, String(s))))
    const saved = Number(globalThis.localStorage?.getItem(SPEED_KEY))
    this.setSpeed(SPEEDS.includes(saved) ? saved : 1)

    this.button.addEventListener('click', () => this.toggle())
    this.speed.addEventListener('change', () => {
      this.setSpeed(Number(this.speed.value))
      globalThis.localStorage?.setItem(SPEED_KEY, this.speed.value)
    })
    this.seek.addEventListener('input', () => this.playFrom(Number(this.seek.value), false))
    const a = this.audio
    a.addEventListener('play', () => { this._draw(); this._loop() })
    a.addEventListener('pause', () => this._draw())
    a.addEventListener('ended', () => this._draw())
    a.addEventListener('loadedmetadata', () => this._draw(true))
    a.addEventListener('ratechange', () => { this.speed.value = String(a.playbackRate) })
    // timeupdate comes some four times a second (and after a seek); frames fill in between.
    for (const name of ['timeupdate', 'seeked']) a.addEventListener(name, () => this._tick())
    this._draw(true)
  }

  get playing () { return !this.audio.paused && !this.audio.ended }
  get currentTime () { return this.audio.currentTime }

  /** Show or hide the player (the doc's meta.upload_audio). */
  enable (on) {
    this.enabled = on
    this.box.hidden = !on
    if (!on) this.audio.pause()
  }

  setSpeed (rate) {
    // Both: a new src resets playbackRate to defaultPlaybackRate.
    this.audio.defaultPlaybackRate = rate
    this.audio.playbackRate = rate
    this.speed.value = String(rate)
  }

  async toggle () {
    if (this.playing) return this.audio.pause()
    if (!(await this._ensure())) return
    await this._play()
  }

  /** Seek to `seconds` (and play, unless `play` is false). */
  async playFrom (seconds, play = true) {
    if (!this.enabled || !(await this._ensure())) return
    this.audio.currentTime = Math.max(0, seconds)
    this._tick()
    if (play) await this._play()
  }

  destroy () {
    this._destroyed = true
    cancelAnimationFrame(this._frame)
    this.audio.pause()
    this.audio.removeAttribute('src')
    this.audio.load()
    if (this.url) URL.revokeObjectURL(this.url)
    this.url = null
  }

  // ------------------------------------------------------------------ internals

  /** The audio fetched and ready to seek (true), or false after saying why not. */
  _ensure () {
    if (!this._loading) {
      this._loading = this._load().catch((err) => {
        this._loading = null // a later click tries again
        if (!this._destroyed) this.hooks.toast(t('audioFailed', { reason: err.message }))
        this.box.classList.remove('loading')
        return false
      })
    }
    return this._loading
  }

  async _load () {
    this.box.classList.add('loading')
    this.button.setAttribute('aria-busy', 'true')
    try {
      const blob = await this.hooks.load()
      if (this._destroyed) return false
      this.url = URL.createObjectURL(blob.type ? blob : new Blob([blob], { type: 'audio/ogg' }))
      const ready = new Promise((resolve, reject) => {
        this.audio.addEventListener('loadedmetadata', resolve, { once: true })
        this.audio.addEventListener('error', () => reject(new Error(t('audioUnplayable'))), { once: true })
      })
      this.audio.src = this.url
      await ready
      return true
    } finally {
      this.box.classList.remove('loading')
      this.button.removeAttribute('aria-busy')
    }
  }

  async _play () {
    try {
      await this.audio.play()
    } catch (err) {
      // The browser wants a click first (autoplay rules), or playback was interrupted.
      if (err.name !== 'AbortError') this.hooks.toast(t('audioFailed', { reason: err.message }))
    }
  }

  _loop () {
    cancelAnimationFrame(this._frame)
    const frame = () => {
      this._frame = 0
      if (!this.playing || this._destroyed) return
      this._tick(false)
      this._frame = requestAnimationFrame(frame)
    }
    this._frame = requestAnimationFrame(frame)
  }

  /** Tell the page the time; the clock and the seek bar only when their second changes. */
  _tick (full = true) {
    const now = this.audio.currentTime
    this.hooks.onTime(now, this.playing)
    const second = Math.floor(now)
    if (full || second !== this._shownSecond) this._draw()
  }

  _draw (metadata = false) {
    const a = this.audio
    const duration = Number.isFinite(a.duration) ? a.duration : 0
    this._shownSecond = Math.floor(a.currentTime)
    this.time.textContent = `${clock(a.currentTime)} / ${duration ? clock(duration) : '--:--'}`
    if (metadata) this.seek.max = String(duration || 0)
    this.seek.disabled = !duration
    if (document.activeElement !== this.seek) this.seek.value = String(a.currentTime)
    const playing = this.playing
    this.button.textContent = playing ? '❚❚' : '▶'
    this.button.setAttribute('aria-label', playing ? t('pause') : t('play'))
    this.button.title = playing ? t('pause') : t('play')
    this.box.classList.toggle('playing', playing)
  }
}
