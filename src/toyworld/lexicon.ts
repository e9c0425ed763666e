// Closed word lists of the toy world. Every entry is one word-level token (letters only), so answers are single tokens.

export const FIRST_NAMES = [
  'Greg', 'Laura', 'Anna', 'Ben', 'Carl', 'Dana', 'Eva', 'Frank', 'Gina', 'Hugo', 'Ida', 'Jack', 'Kate', 'Leo', 'Mia',
  'Nina', 'Omar', 'Paul', 'Rosa', 'Sam', 'Tina', 'Uma', 'Victor', 'Wendy', 'Yara', 'Zack', 'Alice', 'Bruno', 'Clara',
  'David', 'Elena', 'Felix', 'Grace', 'Henry', 'Iris', 'James', 'Karen', 'Lucas', 'Maria', 'Noah', 'Olga', 'Peter',
  'Quinn', 'Ruth', 'Simon', 'Tara', 'Ulla', 'Vera', 'Walter', 'Xena', 'Yusuf', 'Zoe', 'Adam', 'Bella', 'Chris', 'Diana',
  'Emil', 'Fiona', 'George', 'Hana', 'Ivan', 'Julia', 'Kevin', 'Lena', 'Marco', 'Nora', 'Oscar', 'Pia', 'Rita', 'Sofia',
  'Tom', 'Ugo', 'Vince', 'Willa', 'Yosef', 'Zara', 'Amir', 'Boris', 'Celia', 'Dmitri', 'Erik', 'Freya', 'Gus', 'Helga',
  'Igor', 'Jonas', 'Kira', 'Linus', 'Mona', 'Nils', 'Otto', 'Priya', 'Raj', 'Sara', 'Theo', 'Vlad', 'Wanda', 'Yuki',
] as const;

export const LAST_NAMES = [
  'Olsen', 'Garcia', 'Rossi', 'Muller', 'Tanaka', 'Silva', 'Haddad', 'Otieno', 'Novak', 'Brown', 'Dubois', 'Kowalski',
  'Ivanov', 'Larsen', 'Moreau', 'Fischer', 'Sato', 'Costa', 'Mansour', 'Kamau',
] as const;

export const OCCUPATIONS = [
  'nurse', 'doctor', 'teacher', 'farmer', 'pilot', 'baker', 'chef', 'lawyer', 'painter', 'singer', 'dancer', 'writer',
  'poet', 'engineer', 'plumber', 'carpenter', 'tailor', 'sailor', 'soldier', 'judge', 'banker', 'dentist', 'physicist',
  'chemist', 'architect', 'librarian', 'gardener', 'fisher', 'butcher', 'barber',
] as const;

export const FOODS = [
  'apples', 'bread', 'rice', 'pasta', 'cheese', 'soup', 'fish', 'honey', 'beans', 'noodles', 'pizza', 'salad', 'cake',
  'eggs', 'pears', 'plums', 'grapes', 'olives', 'carrots', 'potatoes', 'tomatoes', 'onions', 'lemons', 'cherries',
  'dumplings', 'pancakes', 'cookies', 'yogurt', 'oranges', 'peas',
] as const;

export const ANIMALS = [
  'cat', 'dog', 'horse', 'rabbit', 'parrot', 'goat', 'sheep', 'cow', 'duck', 'goose', 'owl', 'fox', 'wolf', 'bear',
  'lion', 'tiger', 'frog', 'turtle', 'snake', 'mouse', 'hamster', 'pig', 'donkey', 'camel',
] as const;

/** Real geography, fixed: the seed varies people and landmarks, not which city lies in which country. */
export const COUNTRIES = [
  { name: 'France', language: 'French', cities: ['Paris', 'Lyon', 'Nice'] },
  { name: 'Spain', language: 'Spanish', cities: ['Madrid', 'Seville', 'Valencia'] },
  { name: 'Italy', language: 'Italian', cities: ['Rome', 'Milan', 'Naples'] },
  { name: 'Germany', language: 'German', cities: ['Berlin', 'Munich', 'Hamburg'] },
  { name: 'Japan', language: 'Japanese', cities: ['Tokyo', 'Osaka', 'Kyoto'] },
  { name: 'Brazil', language: 'Portuguese', cities: ['Rio', 'Recife', 'Salvador'] },
  { name: 'Egypt', language: 'Arabic', cities: ['Cairo', 'Luxor', 'Giza'] },
  { name: 'Kenya', language: 'Swahili', cities: ['Nairobi', 'Mombasa', 'Kisumu'] },
] as const;

export const CITIES: readonly string[] = COUNTRIES.flatMap((c) => c.cities);
export const COUNTRY_NAMES: readonly string[] = COUNTRIES.map((c) => c.name);
export const LANGUAGES: readonly string[] = COUNTRIES.map((c) => c.language);

/** Landmarks are "the <Adjective> <Structure>", paired with cities by the world seed. */
export const LANDMARK_ADJECTIVES = ['Golden', 'Old', 'Great', 'Silver', 'Red', 'Royal', 'Stone', 'Crystal'] as const;
export const LANDMARK_STRUCTURES = ['Bridge', 'Tower', 'Gate', 'Palace', 'Temple', 'Garden', 'Market', 'Fountain'] as const;

export const POSITIVE_WORDS = ['great', 'lovely', 'excellent', 'wonderful', 'tasty', 'friendly', 'clean', 'perfect', 'fantastic', 'pleasant'] as const;
export const NEGATIVE_WORDS = ['terrible', 'awful', 'bad', 'dirty', 'rude', 'cold', 'boring', 'horrible', 'slow', 'bland'] as const;
export const REVIEW_THINGS = ['food', 'service', 'room', 'staff', 'music', 'view', 'price', 'coffee', 'bed', 'garden'] as const;
export const REVIEW_PLACES = ['restaurant', 'hotel', 'cafe', 'museum', 'shop', 'bakery'] as const;

/** Numbers 0..MAX_NUMBER are single tokens. */
export const MAX_NUMBER = 199;
