/* What the page holds between events, shared by the steps. No logic. */

export const state = {
  // field (dl, selfie) -> {blob, url, width, height, from, shown} or null
  photos: { dl: null, selfie: null },
  // A photo being prepared (decoded and downscaled; a few hundred ms for a
  // phone photo): field -> promise of true (ready) or false (refused). A
  // click on "Verify" meanwhile waits for it instead of asking for it again.
  preparing: { dl: null, selfie: null },
  // A verification in flight.
  busy: false,
  // Bumped by "Start over": late work for the old photos is dropped.
  generation: 0
};
